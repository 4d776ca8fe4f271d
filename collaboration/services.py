"""Writes of the collaboration app: a socket's presence entry on a workflow."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from django.conf import settings
from redis.asyncio import Redis

from collaboration.selectors import presence_key


@dataclass
class Presence:
    """One open socket on a workflow: who, and what they say they are doing."""

    connection: str
    user: int
    username: str
    status: str = ""
    joined: float = field(default_factory=time.time)

    def public(self) -> dict[str, Any]:
        return {"connection": self.connection, "user": self.user, "username": self.username,
                "status": self.status}


async def presence_save(*, client: Redis, workflow_id: Any, presence: Presence) -> None:
    """Record (or refresh, as a heartbeat does) a socket's entry on the workflow."""
    key = presence_key(workflow_id)
    async with client.pipeline(transaction=True) as pipe:
        pipe.hset(key, presence.connection, json.dumps({**asdict(presence), "seen": time.time()}))
        # The whole hash goes once nobody has sent a heartbeat for a while; stale fields
        # of a live hash are skipped by the selector and removed on the next leave.
        pipe.expire(key, settings.COLLABORATION_PRESENCE_TTL * 2)
        await pipe.execute()


async def presence_leave(*, client: Redis, workflow_id: Any, connection: str) -> None:
    """Remove a socket's entry, and any entry whose socket stopped sending heartbeats."""
    key = presence_key(workflow_id)
    oldest = time.time() - settings.COLLABORATION_PRESENCE_TTL
    stale = [name for name, raw in (await client.hgetall(key)).items()
             if json.loads(raw)["seen"] < oldest]
    await client.hdel(key, connection, *stale)
