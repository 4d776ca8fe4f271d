"""Presence entries (Redis): who has a workflow open, through a socket or the API."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from asgiref.sync import async_to_sync
from django.conf import settings
from redis.asyncio import Redis

from collaboration.models import EventKind
from collaboration.selectors import (
    presence_client,
    presence_key,
    presence_list,
    presence_live,
    presence_public,
    presence_user_key,
)
from collaboration.services.events import event_record
from collaboration.services.live import group_send

logger = logging.getLogger(__name__)


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
    group_send(workflow_id, {"type": "presence.event", "event": event, "sender": "",
                              "user": user})
