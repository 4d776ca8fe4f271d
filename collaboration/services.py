"""Writes of the collaboration app: presence entries (Redis), events and shared state
(PostgreSQL), each change sent live to the workflow's sockets after it is stored."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from redis.asyncio import Redis

from collaboration.errors import StateFullError, StateVersionConflictError
from collaboration.models import CollaborationEvent, EventKind, Room, SharedState
from collaboration.selectors import (
    presence_client,
    presence_key,
    presence_list,
    presence_live,
    presence_public,
    presence_user_key,
)

logger = logging.getLogger(__name__)


def workflow_group(workflow_id: Any) -> str:
    """The Channels group of a workflow's collaboration sockets."""
    return f"collaboration.workflow.{workflow_id}"


@dataclass
class Presence:
    """One open socket on a workflow (or one user present through the API): who, their
    status (online, away, busy), what they are doing and which nodes they have selected."""

    connection: str
    user: int
    username: str
    status: str = "online"
    activity: str = ""
    selection: list[str] = field(default_factory=list)
    via: str = "socket"
    joined: float = field(default_factory=time.time)

    def public(self) -> dict[str, Any]:
        return presence_public(asdict(self))


# --- Presence (Redis) ----------------------------------------------------------------------


async def presence_save(*, client: Redis, workflow_id: Any, presence: Presence) -> bool:
    """Record (or refresh, as a heartbeat does) an entry on the workflow; True when its
    user had no live entry there before (they joined)."""
    key = presence_key(workflow_id)
    before = presence_live(await client.hgetall(key))
    now = time.time()
    async with client.pipeline(transaction=True) as pipe:
        pipe.hset(key, presence.connection, json.dumps({**asdict(presence), "seen": now}))
        # The whole hash goes once nobody has sent a heartbeat for a while; stale fields
        # of a live hash are skipped by the selectors and removed on the next leave.
        pipe.expire(key, settings.COLLABORATION_PRESENCE_TTL * 2)
        pipe.hset(presence_user_key(presence.user), str(workflow_id), now)
        pipe.expire(presence_user_key(presence.user), settings.COLLABORATION_PRESENCE_TTL * 2)
        await pipe.execute()
    return not any(entry["user"] == presence.user for entry in before)


async def presence_leave(*, client: Redis, workflow_id: Any, connection: str,
                         user_id: int) -> bool:
    """Remove an entry, and any entry whose owner stopped sending heartbeats; True when
    its user has no live entry left on the workflow (they left)."""
    key = presence_key(workflow_id)
    oldest = time.time() - settings.COLLABORATION_PRESENCE_TTL
    entries = {name: json.loads(raw) for name, raw in (await client.hgetall(key)).items()}
    stale = [name for name, entry in entries.items() if entry["seen"] < oldest]
    await client.hdel(key, connection, *stale)
    remaining = [entry for name, entry in entries.items()
                 if name not in stale and name != connection.encode()
                 and entry["user"] == user_id]
    if remaining:
        return False
    await client.hdel(presence_user_key(user_id), str(workflow_id))
    return True


def _api_connection(user: Any) -> str:
    return f"api-{user.pk}"


def presence_join(*, workflow: Any, user: Any, status: str = "online", activity: str = "",
                  selection: list[str] | None = None) -> list[dict[str, Any]]:
    """Make `user` present on the workflow through the API (until they leave, or for
    `COLLABORATION_PRESENCE_TTL` seconds after their last join or presence update); returns
    everyone present."""
    presence = Presence(connection=_api_connection(user), user=user.pk,
                        username=user.get_username(), status=status, activity=activity,
                        selection=list(selection or []), via="api")

    async def join() -> tuple[bool, bool, list[dict[str, Any]]]:
        client = presence_client()
        try:
            old = presence_live({0: raw} if (raw := await client.hget(
                presence_key(workflow.pk), presence.connection)) else {})
            if old:
                presence.joined = old[0]["joined"]
            first = await presence_save(client=client, workflow_id=workflow.pk,
                                        presence=presence)
            users = await presence_list(client=client, workflow_id=workflow.pk)
            return not old, first, users
        finally:
            await client.aclose()

    new, first, users = async_to_sync(join)()
    _presence_broadcast(workflow.pk, "presence.joined" if new else "presence.updated",
                        presence.public())
    if first:
        event_record(workflow=workflow, kind=EventKind.JOINED, user=user,
                     data={"via": "api"})
    return users


def presence_leave_api(*, workflow: Any, user: Any) -> None:
    """End `user`'s presence through the API on the workflow (their sockets stay)."""
    connection = _api_connection(user)

    async def leave() -> tuple[bool, bool]:
        client = presence_client()
        try:
            was = await client.hexists(presence_key(workflow.pk), connection)
            left = await presence_leave(client=client, workflow_id=workflow.pk,
                                        connection=connection, user_id=user.pk)
            return bool(was), left
        finally:
            await client.aclose()

    was, left = async_to_sync(leave)()
    if not was:
        return
    _presence_broadcast(workflow.pk, "presence.left", {
        "connection": connection, "user": user.pk, "username": user.get_username()})
    if left:
        event_record(workflow=workflow, kind=EventKind.LEFT, user=user, data={"via": "api"})


def _presence_broadcast(workflow_id: Any, event: str, user: dict[str, Any]) -> None:
    _group_send(workflow_id, {"type": "presence.event", "event": event, "sender": "",
                              "user": user})


def _group_send(workflow_id: Any, message: dict[str, Any]) -> None:
    """Best effort, like every live update: a client that missed one resumes from the
    events (`?after=`) or its next snapshot."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(workflow_group(workflow_id), message)
    except Exception:  # noqa: BLE001 - the channel layer is down: the durable copy stays
        logger.exception("collaboration message to workflow %s not sent", workflow_id)


# --- Events (PostgreSQL) -------------------------------------------------------------------


def event_public(event: CollaborationEvent) -> dict[str, Any]:
    return {"seq": event.seq, "kind": event.kind,
            "user": event.user.get_username() if event.user_id else None,
            "data": event.data, "created_at": event.created_at.isoformat()}


def event_record(*, workflow: Any, kind: str, user: Any = None,
                 data: dict[str, Any] | None = None) -> CollaborationEvent:
    """Store the workflow's next event and, once committed, send it to its sockets.

    The number comes from the workflow's `Room` row, locked until the commit: events of
    one workflow are numbered and committed in order."""
    with transaction.atomic():
        room, _ = Room.objects.select_for_update().get_or_create(workflow_id=workflow.pk)
        room.last_seq += 1
        Room.objects.filter(pk=room.pk).update(last_seq=room.last_seq)
        event = CollaborationEvent.objects.create(
            workflow_id=workflow.pk, seq=room.last_seq, kind=kind,
            user=user if getattr(user, "is_authenticated", False) else None,
            data=data or {})
        message = {"type": "collaboration.event", "event": event_public(event)}
        transaction.on_commit(lambda: _group_send(workflow.pk, message))
    return event


# --- Shared state (PostgreSQL) -------------------------------------------------------------


def state_put(*, workflow: Any, key: str, value: Any, user: Any,
              version: int | None = None) -> SharedState:
    """Set a key of the workflow's shared state. With `version`, only when the key is at
    that version now (0: only when it does not exist yet); the new version is one more."""
    with transaction.atomic():
        row = (SharedState.objects.select_for_update()
               .filter(workflow=workflow, key=key).first())
        current = row.version if row is not None else 0
        if version is not None and version != current:
            raise StateVersionConflictError(
                f"The key '{key}' is at version {current}, not {version}: read it again "
                "and write on that.", details={"key": key, "version": current})
        if row is None:
            if SharedState.objects.filter(workflow=workflow).count() >= \
                    settings.COLLABORATION_STATE_MAX_KEYS:
                raise StateFullError(
                    f"The workflow's shared state holds "
                    f"{settings.COLLABORATION_STATE_MAX_KEYS} keys, the most it may.",
                    details={"max_keys": settings.COLLABORATION_STATE_MAX_KEYS})
            row = SharedState(workflow=workflow, key=key, version=0)
        row.value = value
        row.version = current + 1
        row.updated_by = user
        row.updated_at = timezone.now()
        row.save()
        event_record(workflow=workflow, kind=EventKind.STATE_CHANGED, user=user,
                     data={"key": key, "version": row.version})
    return row


def state_delete(*, workflow: Any, key: str, user: Any, version: int | None = None) -> bool:
    """Remove a key of the shared state (with `version`, only at that version); False when
    there was none."""
    with transaction.atomic():
        row = (SharedState.objects.select_for_update()
               .filter(workflow=workflow, key=key).first())
        if row is None:
            return False
        if version is not None and version != row.version:
            raise StateVersionConflictError(
                f"The key '{key}' is at version {row.version}, not {version}.",
                details={"key": key, "version": row.version})
        row.delete()
        event_record(workflow=workflow, kind=EventKind.STATE_CHANGED, user=user,
                     data={"key": key, "version": None, "deleted": True})
    return True
