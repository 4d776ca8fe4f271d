"""Sending to a Channels group from synchronous code (services, after a commit)."""

from __future__ import annotations

import asyncio
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer


def group_send(group: str, message: dict[str, Any]) -> None:
    """Send `message` to every socket in `group`, in every web process. In a thread that
    runs an event loop already (a service called from async code, a test that drives a
    browser) the send is scheduled on that loop, since it cannot be waited for there."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        async_to_sync(layer.group_send)(group, message)
    else:
        loop.create_task(layer.group_send(group, message))
