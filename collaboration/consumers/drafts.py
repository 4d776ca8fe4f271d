"""The shared draft's socket: Yjs's sync protocol, with the server as one of the peers.

A client (a Yjs `WebsocketProvider` in the designer, or any Yjs peer) and the server
exchange sync step 1 (their state vectors) and step 2 (what the other lacks), then updates
as they happen. An editor's update is stored before anyone else receives it; a reader's is
refused (an auth message, "permission denied") and logged. Awareness messages are not
relayed: who is there and where they point travels on the JSON socket
(`/ws/workflows/{id}/`). docs/collaboration.md, "Co-editing the draft".
"""

from __future__ import annotations

import logging
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from pycrdt import Doc

from collaboration import services
from collaboration.consumers.rooms import DraftRoom, room_acquire, room_release
from collaboration.errors import DraftFullError
from collaboration.protocol import (
    EMPTY_UPDATE,
    MESSAGE_SYNC,
    SYNC_STEP1,
    SYNC_STEP2,
    SYNC_UPDATE,
    ProtocolError,
    message_denied,
    message_read,
    message_sync,
    update_check,
)
from collaboration.services.drafts import draft_group
from config.websockets import (
    CLOSE_NOT_FOUND,
    CLOSE_PROTOCOL_ERROR,
    CLOSE_RATE_LIMITED,
    CLOSE_TOO_LARGE,
    RateLimit,
    UserConsumer,
)
from workflows.models import Workflow
from workflows.permissions import READ, WRITE
from workflows.services import workflow_versions_group

logger = logging.getLogger(__name__)


class DraftConsumer(UserConsumer):
    """`/ws/workflows/<id>/draft/`: needs `workflow.read` to follow the draft and
    `workflow.write` to change it. Closes with 4401, 4403 or 4404 like the other sockets,
    4400 for a frame that is not Yjs's protocol, 4413 for one larger than
    `COLLABORATION_DRAFT_UPDATE_MAX_BYTES`, 4429 past
    `COLLABORATION_DRAFT_MESSAGES_PER_SECOND` (a Yjs client reconnects and resynchronises:
    nothing it edited is lost)."""

    room: DraftRoom | None = None

    async def connect(self) -> None:
        if not await self.accept_user(READ):
            return
        self.workflow_id = str(self.scope["url_route"]["kwargs"]["id"])
        workflow = await database_sync_to_async(
            Workflow.objects.select_related("current_version")
            .filter(pk=self.workflow_id).first)()
        if workflow is None:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        user = self.scope["user"]
        self.workflow = workflow
        self.can_write = await database_sync_to_async(user.has_perm)(WRITE)
        self.rate_limit = RateLimit(settings.COLLABORATION_DRAFT_MESSAGES_PER_SECOND)
        # Joined before the draft is read: an update stored after the read arrives here.
        await self.channel_layer.group_add(draft_group(self.workflow_id), self.channel_name)
        await self.channel_layer.group_add(workflow_versions_group(self.workflow_id),
                                           self.channel_name)
        self.room = await room_acquire(workflow)
        async with self.room.lock:
            self.seq = self.room.seq
            await self.send(bytes_data=message_sync(SYNC_STEP1, self.room.doc.get_state()))

    async def disconnect(self, code: int) -> None:
        if self.room is None:
            return
        await self.channel_layer.group_discard(draft_group(self.workflow_id), self.channel_name)
        await self.channel_layer.group_discard(workflow_versions_group(self.workflow_id),
                                               self.channel_name)
        room_release(self.room)
        self.room = None

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None
                      ) -> None:
        if self.room is None:
            return
        if not self.rate_limit.allow():
            await self.close(code=CLOSE_RATE_LIMITED)
            return
        if bytes_data is None:
            await self.close(code=CLOSE_PROTOCOL_ERROR)
            return
        if len(bytes_data) > settings.COLLABORATION_DRAFT_UPDATE_MAX_BYTES:
            await self.close(code=CLOSE_TOO_LARGE)
            return
        try:
            kind, step, payload = message_read(bytes_data)
            if kind != MESSAGE_SYNC:
                return  # awareness and the rest: not relayed (see the module's docstring)
            if step == SYNC_STEP1:
                await self._answer(payload)
            else:
                await self._update(payload, reconnect=step == SYNC_STEP2)
        except ProtocolError as error:
            logger.warning("draft socket of workflow %s closed: %s", self.workflow_id, error)
            await self.close(code=CLOSE_PROTOCOL_ERROR)

    async def _answer(self, state: bytes) -> None:
        """Sync step 2: what the client lacks of the draft."""
        async with self.room.lock:
            try:
                missing = self.room.doc.get_update(state)
            except Exception as error:  # noqa: BLE001 - the decoder's errors have no base
                raise ProtocolError(f"Not a state vector: {error}") from None
            self.seq = max(self.seq, self.room.seq)
        await self.send(bytes_data=message_sync(SYNC_STEP2, missing))

    async def _update(self, update: bytes, *, reconnect: bool) -> None:
        """An update from the client (its sync step 2 holds what it changed while away)."""
        if update == EMPTY_UPDATE:
            return
        update_check(update)
        if reconnect and not await self._changes(update):
            return
        user = self.scope["user"]
        if not self.can_write:
            logger.warning("draft edit refused: user %s may not change workflow %s",
                           user.pk, self.workflow_id)
            await self.send(bytes_data=message_denied(
                "workflow.write is needed to change this draft; the edit was not kept."))
            return
        try:
            await database_sync_to_async(services.draft_update_append)(
                workflow_id=self.workflow_id, update=update, author=user,
                sender=self.channel_name)
        except DraftFullError as error:
            await self.send(bytes_data=message_denied(error.message))
            return
        self.room.validate_soon()

    async def _changes(self, update: bytes) -> bool:
        """Whether an update holds anything the draft lacks (a client's sync step 2 repeats
        every deletion it knows of, even when the server has them all)."""
        async with self.room.lock:
            state = self.room.doc.get_update()
        copy = Doc()
        copy.apply_update(state)
        before = copy.get_update()
        copy.apply_update(update)
        return copy.get_update() != before

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Relay stored updates without Channels' per-message database hygiene: that is a
        hop to the one thread that runs every database call of the process, for each update
        and each socket, where the edits' own transactions wait (a gap filled from the
        database hops there itself)."""
        if message["type"] == "draft.update":
            await self.draft_update(message)
        else:
            await super().dispatch(message)

    async def draft_update(self, message: dict[str, Any]) -> None:
        """A stored update of the draft (from any process): applied to the room, then sent
        to this client unless it came from it."""
        if self.room is None:
            return
        seq, update = message["seq"], message["update"]
        await self.room.receive(seq, update)
        if seq <= self.seq:
            return
        if seq == self.seq + 1:
            self.seq = seq
            if message["sender"] != self.channel_name:
                await self.send(bytes_data=message_sync(SYNC_UPDATE, update))
            return
        async with self.room.lock:  # updates were missed: send the whole draft
            everything, self.seq = self.room.doc.get_update(), self.room.seq
        await self.send(bytes_data=message_sync(SYNC_UPDATE, everything))

    async def workflow_version(self, message: dict[str, Any]) -> None:
        """A new version of the workflow: merged into the draft unless it holds it already
        (the merge is an update like any other, sent to every socket)."""
        if self.room is not None:
            await self.room.reconcile(message["number"])
