"""A Yjs peer for tests: a pycrdt document on a draft socket, speaking the sync protocol as
the designer's `WebsocketProvider` does (step 1 on connect, step 2 in answer, then updates;
what was edited while disconnected goes out in the step 2 after reconnecting)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from pycrdt import Doc, Map
from websockets.asyncio.client import ClientConnection

from collaboration.documents import document_definition
from collaboration.protocol import (
    MESSAGE_AUTH,
    MESSAGE_SYNC,
    SYNC_STEP1,
    SYNC_STEP2,
    SYNC_UPDATE,
    message_read,
    message_sync,
)
from tests.servers import WebServer


class YPeer:
    """One editor's copy of a draft. `connect` opens the socket and starts reading;
    `disconnect` drops it while the document stays editable; edits made meanwhile are sent
    when it connects again."""

    def __init__(self, name: str = "peer") -> None:
        self.name = name
        self.doc = Doc()
        self.websocket: ClientConnection | None = None
        self._reader: asyncio.Task | None = None
        self._context: Any = None
        self._applying = False
        self.synced = asyncio.Event()
        self.denied: list[str] = []
        self.received = 0
        self.doc.observe(self._local_update)

    def _local_update(self, event: Any) -> None:
        if self._applying or self.websocket is None:
            return
        message = message_sync(SYNC_UPDATE, event.update)
        asyncio.get_event_loop().create_task(self._send(message))

    async def _send(self, message: bytes) -> None:
        websocket = self.websocket
        if websocket is None:
            return
        with contextlib.suppress(Exception):  # a cut socket: the edit goes in the next step 2
            await websocket.send(message)

    def _apply(self, update: bytes) -> None:
        self._applying = True
        try:
            self.doc.apply_update(update)
        finally:
            self._applying = False

    async def connect(self, web: WebServer, path: str) -> None:
        self.synced = asyncio.Event()
        self._context = web.websocket(path)
        self.websocket = await self._context.__aenter__()
        self._reader = asyncio.get_event_loop().create_task(self._read(self.websocket))
        await self.websocket.send(message_sync(SYNC_STEP1, self.doc.get_state()))

    async def _read(self, websocket: ClientConnection) -> None:
        with contextlib.suppress(Exception):
            async for frame in websocket:
                kind, step, payload = message_read(frame)
                if kind == MESSAGE_AUTH:
                    self.denied.append(payload[2:].decode(errors="replace"))
                if kind != MESSAGE_SYNC:
                    continue
                if step == SYNC_STEP1:
                    await websocket.send(message_sync(SYNC_STEP2, self.doc.get_update(payload)))
                else:
                    self._apply(payload)
                    self.received += 1
                    if step == SYNC_STEP2:
                        self.synced.set()

    async def disconnect(self) -> None:
        websocket, self.websocket = self.websocket, None
        if websocket is not None:
            await self._context.__aexit__(None, None, None)
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader

    def root(self, name: str) -> Map:
        return self.doc.get(name, type=Map)

    def definition(self) -> dict[str, Any]:
        return document_definition(self.doc).definition


async def settled(peers: list[YPeer], expected: Any = None, timeout: float = 20) -> None:
    """Wait until every peer holds the same definition (and `expected`, when given)."""
    deadline = asyncio.get_event_loop().time() + timeout
    while True:
        definitions = [peer.definition() for peer in peers]
        if all(definition == definitions[0] for definition in definitions) and (
                expected is None or definitions[0] == expected):
            return
        if asyncio.get_event_loop().time() > deadline:
            raise AssertionError(f"the peers did not converge: {definitions}")
        await asyncio.sleep(0.05)
