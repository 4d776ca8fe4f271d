"""The co-editing benchmark (issue "Real-time collaboration", `bench/load.py collab`).

Two figures, on the production web command (`uvicorn --workers N`, docker-compose.yml's
WEB_CONCURRENCY, so editors land on different processes and every edit crosses the
channel layer):

- **edit -> arrival**: E editors (pycrdt peers speaking Yjs's sync protocol, as the
  designer's `WebsocketProvider` does) on one workflow's draft socket each change their own
  key of the draft R times a second for D seconds; every other editor notes when each change
  arrives. Latency = arrival - the moment the edit was made, over every (edit, receiver)
  pair; the edit is stored in PostgreSQL before it is relayed, so this is the whole path.
  The baseline in the same run: a round trip of an empty sync message to the server (step 1
  -> step 2), what the socket itself costs.
- **idle sockets**: S draft sockets opened and left idle; the web processes' RSS before and
  after, and the sockets each process holds.

All the peers run in this process on one asyncio loop; the figures include its scheduling.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import resource
import time
import uuid
from typing import Any

from pycrdt import Doc, Map

from bench.run import distribution, say
from collaboration.protocol import (
    MESSAGE_SYNC,
    SYNC_STEP1,
    SYNC_STEP2,
    SYNC_UPDATE,
    message_read,
    message_sync,
)

EDITOR = "bench-editor"


def editor_token(base_url: str) -> str:
    """A workflow-editors user (read + write), logged in through POST /api/auth/login."""
    import httpx
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    password = uuid.uuid4().hex
    user, _ = get_user_model().objects.get_or_create(username=EDITOR)
    user.set_password(password)
    user.save()
    user.groups.add(Group.objects.get(name="workflow-editors"))
    response = httpx.post(f"{base_url}/api/auth/login", timeout=30,
                          json={"username": EDITOR, "password": password})
    response.raise_for_status()
    return response.json()["token"]


class Peer:
    """One editor: a document on a draft socket. Records when each other editor's change
    of its key arrives."""

    def __init__(self, name: str, arrivals: list[float]) -> None:
        self.name = name
        self.doc = Doc()
        self.arrivals = arrivals
        self.websocket: Any = None
        self.synced = asyncio.Event()
        self.pong = asyncio.Event()
        self._applying = False
        self.doc.observe(self._local)
        self.meta = self.doc.get("meta", type=Map)
        self.meta.observe(self._changed)

    def _local(self, event: Any) -> None:
        if not self._applying and self.websocket is not None:
            asyncio.get_event_loop().create_task(
                self.websocket.send(message_sync(SYNC_UPDATE, event.update)))

    def _changed(self, event: Any) -> None:
        if not self._applying:
            return
        now = time.time()
        for key in event.keys:
            if key.startswith("edit-") and key != f"edit-{self.name}":
                value = self.meta.get(key)
                if isinstance(value, dict) and "at" in value:
                    self.arrivals.append(now - value["at"])

    async def connect(self, url: str) -> None:
        from websockets.asyncio.client import connect

        origin = url.split("/ws/")[0].replace("ws://", "http://")  # as a browser sends it
        self.websocket = await connect(url, origin=origin, open_timeout=30,
                                       ping_interval=None, max_queue=None)
        self.reader = asyncio.get_event_loop().create_task(self._read())
        await self.websocket.send(message_sync(SYNC_STEP1, self.doc.get_state()))

    async def _read(self) -> None:
        with contextlib.suppress(Exception):
            async for frame in self.websocket:
                kind, step, payload = message_read(frame)
                if kind != MESSAGE_SYNC:
                    continue
                if step == SYNC_STEP1:
                    await self.websocket.send(
                        message_sync(SYNC_STEP2, self.doc.get_update(payload)))
                    continue
                self._applying = True
                try:
                    self.doc.apply_update(payload)
                finally:
                    self._applying = False
                if step == SYNC_STEP2:
                    self.synced.set()
                    self.pong.set()

    def edit(self, number: int) -> None:
        self.meta[f"edit-{self.name}"] = {"n": number, "at": time.time()}

    async def round_trip(self) -> float:
        """Sync step 1 with the peer's own state: the server answers step 2 (empty)."""
        self.pong.clear()
        began = time.perf_counter()
        await self.websocket.send(message_sync(SYNC_STEP1, self.doc.get_state()))
        await asyncio.wait_for(self.pong.wait(), 30)
        return time.perf_counter() - began

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.websocket.close()
        self.reader.cancel()


def _socket_url(base_url: str, workflow_id: Any, token: str) -> str:
    return (base_url.replace("http://", "ws://") + f"/ws/workflows/{workflow_id}/draft/"
            f"?token={token}")


async def _editors(url: str, editors: int, rate: float, duration: float
                   ) -> tuple[list[float], list[float], int]:
    arrivals: list[float] = []
    peers = [Peer(str(number), arrivals) for number in range(editors)]
    for peer in peers:
        await peer.connect(url)
    await asyncio.gather(*(asyncio.wait_for(peer.synced.wait(), 60) for peer in peers))
    round_trips = []
    for peer in peers[:10]:
        for _ in range(5):
            round_trips.append(await peer.round_trip())
    edits = 0

    async def editing(peer: Peer, offset: float) -> None:
        nonlocal edits
        await asyncio.sleep(offset)
        deadline = time.perf_counter() + duration
        number = 0
        while time.perf_counter() < deadline:
            peer.edit(number)
            number += 1
            edits += 1
            await asyncio.sleep(1 / rate)

    await asyncio.gather(*(editing(peer, index / editors / rate)
                           for index, peer in enumerate(peers)))
    expected = edits * (editors - 1)
    deadline = time.perf_counter() + 30
    while len(arrivals) < expected and time.perf_counter() < deadline:
        await asyncio.sleep(0.1)
    for peer in peers:
        await peer.close()
    return arrivals, round_trips, edits


async def _idle(url: str, sockets: int) -> list[Peer]:
    peers = [Peer(f"idle-{number}", []) for number in range(sockets)]
    for peer in peers:
        await peer.connect(url)
    await asyncio.gather(*(asyncio.wait_for(peer.synced.wait(), 120) for peer in peers))
    return peers


def _sockets_per_process(processes: list[Any], port: int) -> list[int]:
    import psutil

    counts = []
    for process in processes:
        for member in psutil.Process(process.pid).children(recursive=True):
            with contextlib.suppress(psutil.Error):
                counts.append(sum(1 for connection in member.net_connections("tcp")
                                  if connection.laddr and connection.laddr.port == port
                                  and connection.status == "ESTABLISHED"))
    return counts


def collab_run(args: argparse.Namespace, platform: Any, workflow: Any, token: str
               ) -> dict[str, Any]:
    from bench.load import memory_of

    url = _socket_url(platform.base_url, workflow.pk, token)
    arrivals, round_trips, edits = asyncio.run(
        _editors(url, args.editors, args.rate, args.duration))
    expected = edits * (args.editors - 1)
    figures: dict[str, Any] = {
        **distribution("edit_to_arrival", arrivals),
        **distribution("socket_round_trip", round_trips),
        "edits": edits, "arrivals_missing": expected - len(arrivals),
        "edits_per_s": round(edits / args.duration, 1),
    }
    web = platform.roles["web"]
    before = memory_of(web)

    async def idle() -> dict[str, Any]:
        peers = await _idle(url, args.sockets)
        await asyncio.sleep(2)
        after = memory_of(web)
        port = int(platform.base_url.rsplit(":", 1)[1])
        per_process = _sockets_per_process(web, port)
        for peer in peers:
            await peer.close()
        return {"after": after, "per_process": per_process}

    measured = asyncio.run(idle())
    figures.update({
        "web_rss_mb_before_idle": before["rss_mb"],
        "web_rss_mb_with_idle": measured["after"]["rss_mb"],
        "web_kb_per_idle_socket": round(
            (measured["after"]["rss_mb"] - before["rss_mb"]) * 1024 / args.sockets, 1),
        "_idle_sockets_per_process": measured["per_process"],
    })
    return figures


def sockets_allow(sockets: int) -> None:
    """Raise this process's open-file limit for the sockets (both ends live on this
    machine); the web processes started after it inherit the limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = sockets * 2 + 1024
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))


def collab_measure(args: argparse.Namespace, platform: Any) -> list[dict[str, Any]]:
    from bench.load import transform, workflow_make

    token = editor_token(platform.base_url)
    runs = []
    for number in range(1, args.runs + 1):
        workflow = workflow_make([transform()], "bench-collab")
        say(f"run {number}/{args.runs}: {args.editors} editors x {args.rate}/s for "
            f"{args.duration:g} s, then {args.sockets} idle sockets")
        runs.append(collab_run(args, platform, workflow, token))
        say(f"  { {k: v for k, v in runs[-1].items() if not k.startswith('_')} }")
    return runs
