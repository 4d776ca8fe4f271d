"""A web process's copy of each shared draft its sockets have open.

One `DraftRoom` per workflow per process, shared by that process's draft sockets: it answers
a client's sync step 1 from memory, validates the draft after edits, and follows the stored
updates in number order. Updates reach it through the channel layer after they are
committed; one that arrives out of order (or never: the layer is best effort) is read from
the database, where updates are numbered without gaps.
"""

from __future__ import annotations

import asyncio
import logging

from channels.db import database_sync_to_async
from django.conf import settings
from pycrdt import Doc

from collaboration import selectors, services
from collaboration.documents import document_definition
from collaboration.models import Draft
from workflows.models import Workflow

logger = logging.getLogger(__name__)


class DraftRoom:
    """The draft of one workflow, as this process knows it: its document and the number of
    the last stored update applied to it."""

    def __init__(self, workflow_id: str) -> None:
        self.workflow_id = workflow_id
        self.doc = Doc()
        self.seq = 0
        self.lock = asyncio.Lock()
        self.sockets = 0
        self.reconciled = 0
        self._validation: asyncio.Task | None = None

    async def load(self, workflow: Workflow) -> None:
        draft = await database_sync_to_async(services.draft_open)(workflow=workflow)
        doc, seq = await database_sync_to_async(selectors.draft_document)(draft=draft)
        self.doc, self.seq = doc, seq

    async def receive(self, seq: int, update: bytes) -> bool:
        """Apply stored update `seq`; False when it was applied already. A gap (an update
        the channel layer delivered late or lost) is filled from the database."""
        async with self.lock:
            if seq <= self.seq:
                return False
            if seq == self.seq + 1:
                self.doc.apply_update(update)
                self.seq = seq
            else:
                await self._catch_up()
            return True

    async def _catch_up(self) -> None:
        draft = await database_sync_to_async(
            Draft.objects.filter(workflow_id=self.workflow_id).first)()
        if draft is None:
            return
        if draft.compacted_seq > self.seq:
            self.doc, self.seq = await database_sync_to_async(selectors.draft_document)(
                draft=draft)
            return
        updates = await database_sync_to_async(selectors.draft_updates)(draft=draft,
                                                                        after=self.seq)
        for seq, update in updates:
            self.doc.apply_update(update)
            self.seq = seq

    async def reconcile(self, number: int) -> None:
        """Merge version `number`, saved outside the draft, into it (once per process;
        `draft_reconcile` makes it once in all)."""
        if number <= self.reconciled:
            return
        self.reconciled = number
        workflow = await database_sync_to_async(Workflow.objects.get)(pk=self.workflow_id)
        await database_sync_to_async(services.draft_reconcile)(workflow=workflow)

    def validate_soon(self) -> None:
        """Validate the draft `COLLABORATION_DRAFT_VALIDATE_DELAY_MS` from now (edits until
        then are validated together) and send the report to the workflow's sockets."""
        if self._validation is None or self._validation.done():
            self._validation = asyncio.ensure_future(self._validate())

    async def _validate(self) -> None:
        await asyncio.sleep(settings.COLLABORATION_DRAFT_VALIDATE_DELAY_MS / 1000)
        try:
            async with self.lock:
                await self._catch_up()
                conversion, seq = document_definition(self.doc), self.seq
            report = await database_sync_to_async(selectors.conversion_report)(
                conversion=conversion)
            await database_sync_to_async(services.draft_report_save)(
                workflow_id=self.workflow_id, seq=seq, report=report.as_dict())
        except Exception:  # noqa: BLE001 - a report not sent is sent after the next edit
            logger.exception("validation of the draft of workflow %s failed", self.workflow_id)


_rooms: dict[str, DraftRoom] = {}
_opening: dict[str, asyncio.Lock] = {}


async def room_acquire(workflow: Workflow) -> DraftRoom:
    """The process's room of the workflow's draft, loaded the first time; the caller
    releases it (`room_release`) when its socket closes."""
    key = str(workflow.pk)
    lock = _opening.setdefault(key, asyncio.Lock())
    async with lock:
        room = _rooms.get(key)
        if room is None:
            room = DraftRoom(key)
            await room.load(workflow)
            _rooms[key] = room
        room.sockets += 1
    return room


def room_release(room: DraftRoom) -> None:
    room.sockets -= 1
    if room.sockets <= 0 and _rooms.get(room.workflow_id) is room:
        del _rooms[room.workflow_id]
        _opening.pop(room.workflow_id, None)
