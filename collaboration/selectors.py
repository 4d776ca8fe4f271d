"""Reads of the collaboration app: who is in a workflow's designer now.

Presence lives in Redis (`REDIS_URL`), one hash per workflow, one field per open socket,
so every web process sees the same people. An entry whose socket stopped sending
heartbeats for `COLLABORATION_PRESENCE_TTL` seconds (its process died) is left out.
"""

from __future__ import annotations

import json
import time
from typing import Any

from django.conf import settings
from redis.asyncio import Redis


def presence_key(workflow_id: Any) -> str:
    return f"weft:presence:{workflow_id}"


def presence_client() -> Redis:
    """A client for the presence hashes; the caller closes it (`aclose`)."""
    return Redis.from_url(settings.REDIS_URL, socket_timeout=5, socket_connect_timeout=5)


async def presence_list(*, client: Redis, workflow_id: Any) -> list[dict[str, Any]]:
    """The open sockets on the workflow, oldest first: connection, user, username, status."""
    oldest = time.time() - settings.COLLABORATION_PRESENCE_TTL
    entries = [json.loads(raw) for raw in
               (await client.hgetall(presence_key(workflow_id))).values()]
    live = [entry for entry in entries if entry["seen"] >= oldest]
    return [{name: entry[name] for name in ("connection", "user", "username", "status")}
            for entry in sorted(live, key=lambda entry: entry["joined"])]
