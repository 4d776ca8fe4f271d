"""Reads of the collaboration app: who is in a workflow now, its events and shared state.

Presence lives in Redis (`REDIS_URL`), so every web process sees the same people: one
hash per workflow, one field per open socket (or per user present through the API), and
one hash per user naming the workflows they are in. An entry whose owner stopped sending
heartbeats for `COLLABORATION_PRESENCE_TTL` seconds (its process died, its client went
silent) is left out. Events and shared state are rows in PostgreSQL.
"""

from __future__ import annotations

import json
import time
from typing import Any

from django.conf import settings
from django.db.models import Prefetch, QuerySet
from pycrdt import Doc
from redis.asyncio import Redis

from collaboration.documents import Conversion, document_definition
from collaboration.models import CollaborationEvent, Comment, CommentThread, Draft, SharedState
from workflows.definitions.problems import ValidationReport
from workflows.definitions.validation import definition_validate

# What the others see of a presence entry.
PRESENCE_FIELDS = ("connection", "user", "username", "status", "activity", "selection",
                   "via")


def presence_key(workflow_id: Any) -> str:
    return f"weft:presence:{workflow_id}"


def presence_user_key(user_id: Any) -> str:
    return f"weft:presence:user:{user_id}"


def presence_client() -> Redis:
    """A client for the presence hashes; the caller closes it (`aclose`)."""
    return Redis.from_url(settings.REDIS_URL, socket_timeout=5, socket_connect_timeout=5)


def presence_live(raw_entries: dict[Any, Any]) -> list[dict[str, Any]]:
    """The entries of a presence hash (as read from Redis) that are live, oldest first."""
    oldest = time.time() - settings.COLLABORATION_PRESENCE_TTL
    entries = [json.loads(raw) for raw in raw_entries.values()]
    return sorted((entry for entry in entries if entry["seen"] >= oldest),
                  key=lambda entry: entry["joined"])


def presence_public(entry: dict[str, Any]) -> dict[str, Any]:
    defaults = {"status": "online", "activity": "", "selection": [], "via": "socket"}
    return {name: entry.get(name, defaults.get(name)) for name in PRESENCE_FIELDS}


async def presence_list(*, client: Redis, workflow_id: Any) -> list[dict[str, Any]]:
    """The live entries on the workflow, oldest first: connection, user, username, status
    (online, away, busy), activity, selection (node ids) and via (socket or api)."""
    return [presence_public(entry)
            for entry in presence_live(await client.hgetall(presence_key(workflow_id)))]


async def presence_many(*, client: Redis, workflow_ids: list[Any]
                        ) -> dict[str, list[dict[str, Any]]]:
    """`presence_list` of each workflow, read in one round trip."""
    async with client.pipeline(transaction=False) as pipe:
        for workflow_id in workflow_ids:
            pipe.hgetall(presence_key(workflow_id))
        hashes = await pipe.execute()
    return {str(workflow_id): [presence_public(entry) for entry in presence_live(raw)]
            for workflow_id, raw in zip(workflow_ids, hashes, strict=True)}


async def presence_workflows(*, client: Redis, user_id: Any) -> list[str]:
    """The ids of the workflows the user is present in now (any live entry of theirs)."""
    oldest = time.time() - settings.COLLABORATION_PRESENCE_TTL
    seen = await client.hgetall(presence_user_key(user_id))
    candidates = [key.decode() for key, value in seen.items() if float(value) >= oldest]
    present = []
    for workflow_id in candidates:
        entries = presence_live(await client.hgetall(presence_key(workflow_id)))
        if any(entry["user"] == int(user_id) for entry in entries):
            present.append(workflow_id)
    return present


def events_after(*, workflow: Any, after: int) -> QuerySet[CollaborationEvent]:
    """The workflow's events numbered above `after`, oldest first, with their users."""
    return (CollaborationEvent.objects.filter(workflow=workflow, seq__gt=after)
            .select_related("user").order_by("seq"))


def state_list(*, workflow: Any) -> QuerySet[SharedState]:
    return SharedState.objects.filter(workflow=workflow).select_related("updated_by")


def state_get(*, workflow: Any, key: str) -> SharedState | None:
    return state_list(workflow=workflow).filter(key=key).first()


# --- Drafts (PostgreSQL) -------------------------------------------------------------------


def draft_updates(*, draft: Draft, after: int) -> list[tuple[int, bytes]]:
    """The draft's updates numbered above `after`, in order (those not yet compacted)."""
    return [(seq, bytes(data)) for seq, data in
            draft.updates.filter(seq__gt=after).order_by("seq").values_list("seq", "data")]


def draft_document(*, draft: Draft) -> tuple[Doc, int]:
    """The draft's document as stored, and the number of the last update in it."""
    doc = Doc()
    if draft.snapshot:
        doc.apply_update(bytes(draft.snapshot))
    last = draft.compacted_seq
    for seq, update in draft_updates(draft=draft, after=draft.compacted_seq):
        doc.apply_update(update)
        last = seq
    return doc, last


def draft_validate(*, doc: Doc) -> tuple[dict[str, Any], ValidationReport]:
    """The definition the document holds and every problem of it."""
    conversion = document_definition(doc)
    return conversion.definition, conversion_report(conversion=conversion)


def conversion_report(*, conversion: Conversion) -> ValidationReport:
    """What in the document is not JSON, then the definition's own problems."""
    report = definition_validate(conversion.definition)
    report.errors[:0] = conversion.problems
    return report


# --- Comments ------------------------------------------------------------------------------


def comment_threads(*, workflow: Any, node: str | None = None, resolved: bool | None = None
                    ) -> QuerySet[CommentThread]:
    threads = (CommentThread.objects.filter(workflow=workflow)
               .select_related("resolved_by")
               .prefetch_related(Prefetch("comments",
                                          Comment.objects.select_related("author"))))
    if node is not None:
        threads = threads.filter(node=node)
    if resolved is not None:
        threads = threads.filter(resolved=resolved)
    return threads.order_by("node")
