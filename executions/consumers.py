"""Live execution updates over a websocket: a snapshot on connect, then every event."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async

from config.websockets import CLOSE_NOT_FOUND, JsonFrameConsumer
from executions import selectors
from executions.services.outbox import execution_group
from workflows.permissions import READ


class ExecutionConsumer(JsonFrameConsumer):
    """`/ws/executions/<id>/`: needs `workflow.read`; sends `execution.snapshot`, then an
    `execution.event` per change the outbox publishes. Closes with 4401 without a login,
    4403 without the permission, 4404 for an unknown execution. A client may only `ping`."""

    group: str | None = None

    async def connect(self) -> None:
        if not await self.accept_user(READ):
            return
        execution_id = self.scope["url_route"]["kwargs"]["id"]
        self.group = execution_group(execution_id)
        # Join before reading the snapshot, so no event falls between the two.
        await self.channel_layer.group_add(self.group, self.channel_name)
        snapshot = await database_sync_to_async(selectors.execution_snapshot)(execution_id)
        if snapshot is None:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        await self.send_json({"type": "execution.snapshot", "execution": snapshot})

    async def disconnect(self, code: int) -> None:
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def execution_events(self, message: dict[str, Any]) -> None:
        """The events of one dispatcher batch for this execution, each sent as its own
        `execution.event` frame, in order."""
        for event in message["messages"]:
            await self.send_json({"type": "execution.event", **event})

    async def execution_event(self, message: dict[str, Any]) -> None:
        """One event, as a dispatcher of an earlier release sends it (during an upgrade
        where web and worker processes are replaced one by one)."""
        await self.send_json({"type": "execution.event", **message["message"]})
