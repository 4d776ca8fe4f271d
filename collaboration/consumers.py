"""The designer's collaboration socket: who else has a workflow open, and what they say
they are doing. Live co-editing is not part of it yet."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from channels.db import database_sync_to_async
from django.conf import settings

from collaboration import selectors, services
from collaboration.services import Presence
from config.websockets import CLOSE_NOT_FOUND, FrameError, FrameErrorCode, JsonFrameConsumer
from workflows.models import Workflow
from workflows.permissions import READ


def workflow_group(workflow_id: Any) -> str:
    return f"collaboration.workflow.{workflow_id}"


class WorkflowConsumer(JsonFrameConsumer):
    """`/ws/workflows/<id>/`: needs `workflow.read`. Sends `presence.snapshot` on join, then
    `presence.joined`, `presence.left`, `presence.heartbeat` and `presence.status` of the
    other sockets on the workflow. Closes with 4401 without a login, 4403 without the
    permission, 4404 for an unknown workflow."""

    handlers: ClassVar[dict[str, str]] = {
        "heartbeat": "handle_heartbeat", "status": "handle_status"}

    presence: Presence | None = None

    async def connect(self) -> None:
        if not await self.accept_user(READ):
            return
        self.workflow_id = self.scope["url_route"]["kwargs"]["id"]
        if not await database_sync_to_async(
                Workflow.objects.filter(pk=self.workflow_id).exists)():
            await self.close(code=CLOSE_NOT_FOUND)
            return
        user = self.scope["user"]
        self.redis = selectors.presence_client()
        self.group = workflow_group(self.workflow_id)
        self.presence = Presence(connection=uuid.uuid4().hex[:16], user=user.pk,
                                 username=user.get_username())
        await self.channel_layer.group_add(self.group, self.channel_name)
        await services.presence_save(client=self.redis, workflow_id=self.workflow_id,
                                     presence=self.presence)
        users = await selectors.presence_list(client=self.redis, workflow_id=self.workflow_id)
        await self.send_json({"type": "presence.snapshot", "you": self.presence.connection,
                              "users": users})
        await self._broadcast("presence.joined")

    async def disconnect(self, code: int) -> None:
        if self.presence is None:
            return
        try:
            await self.channel_layer.group_discard(self.group, self.channel_name)
            await services.presence_leave(client=self.redis, workflow_id=self.workflow_id,
                                          connection=self.presence.connection)
            await self._broadcast("presence.left")
        finally:
            await self.redis.aclose()

    async def handle_heartbeat(self, message: dict[str, Any]) -> None:
        await self._refresh("presence.heartbeat")

    async def handle_status(self, message: dict[str, Any]) -> None:
        status = message.get("status")
        limit = settings.COLLABORATION_STATUS_MAX_CHARS
        if not isinstance(status, str) or len(status) > limit:
            raise FrameError(FrameErrorCode.INVALID_MESSAGE,
                             f'"status" must be a string of at most {limit} characters.')
        self.presence.status = status
        await self._refresh("presence.status")

    async def _refresh(self, event: str) -> None:
        await services.presence_save(client=self.redis, workflow_id=self.workflow_id,
                                     presence=self.presence)
        await self._broadcast(event)

    async def _broadcast(self, event: str) -> None:
        await self.channel_layer.group_send(self.group, {
            "type": "presence.event", "event": event, "sender": self.channel_name,
            "user": self.presence.public()})

    async def presence_event(self, message: dict[str, Any]) -> None:
        """Another socket's presence change, relayed to this one (not back to its sender)."""
        if message["sender"] != self.channel_name:
            await self.send_json({"type": message["event"], "user": message["user"]})
