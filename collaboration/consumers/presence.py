"""The designer's collaboration socket: who else has a workflow open, what they are doing
and pointing at, and the workflow's collaboration events as they happen."""

from __future__ import annotations

import math
import uuid
from typing import Any, ClassVar

from channels.db import database_sync_to_async

from collaboration import selectors, services
from collaboration.apis import PresenceInputSerializer
from collaboration.models import EventKind
from collaboration.services import Presence, workflow_group
from config.websockets import CLOSE_NOT_FOUND, FrameError, FrameErrorCode, JsonFrameConsumer
from workflows.models import Workflow
from workflows.permissions import READ

# A pointer's coordinates on the canvas (flow coordinates) stay within this.
POINTER_LIMIT = 1e7


def _problems(errors: dict[str, Any]) -> str:
    return "; ".join(f'"{name}": {" ".join(str(problem) for problem in problems)}'
                     for name, problems in errors.items())


class WorkflowConsumer(JsonFrameConsumer):
    """`/ws/workflows/<id>/`: needs `workflow.read`. Sends `presence.snapshot` on join,
    then the others' `presence.joined`, `presence.left`, `presence.heartbeat`,
    `presence.updated` and `presence.pointer`, every collaboration `event` of the
    workflow and the shared draft's validation report (`draft.problems`). Closes with 4401
    without a login, 4403 without the permission, 4404 for an unknown workflow.
    docs/collaboration.md has the protocol."""

    handlers: ClassVar[dict[str, str]] = {
        "heartbeat": "handle_heartbeat", "status": "handle_presence",
        "presence": "handle_presence", "pointer": "handle_pointer"}

    presence: Presence | None = None

    async def connect(self) -> None:
        if not await self.accept_user(READ):
            return
        self.workflow_id = self.scope["url_route"]["kwargs"]["id"]
        workflow = await database_sync_to_async(
            Workflow.objects.filter(pk=self.workflow_id).first)()
        if workflow is None:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        self.workflow = workflow
        user = self.scope["user"]
        self.redis = selectors.presence_client()
        self.group = workflow_group(self.workflow_id)
        self.presence = Presence(connection=uuid.uuid4().hex[:16], user=user.pk,
                                 username=user.get_username())
        await self.channel_layer.group_add(self.group, self.channel_name)
        joined = await services.presence_save(client=self.redis, workflow_id=self.workflow_id,
                                              presence=self.presence)
        if joined:  # stored before the snapshot: a client that has it finds the event
            await self._record(EventKind.JOINED)
        users = await selectors.presence_list(client=self.redis, workflow_id=self.workflow_id)
        await self.send_json({"type": "presence.snapshot", "you": self.presence.connection,
                              "users": users})
        await self._broadcast("presence.joined")

    async def disconnect(self, code: int) -> None:
        if self.presence is None:
            return
        try:
            await self.channel_layer.group_discard(self.group, self.channel_name)
            left = await services.presence_leave(
                client=self.redis, workflow_id=self.workflow_id,
                connection=self.presence.connection, user_id=self.presence.user)
            await self._broadcast("presence.left")
            if left:
                await self._record(EventKind.LEFT)
        finally:
            await self.redis.aclose()

    async def handle_heartbeat(self, message: dict[str, Any]) -> None:
        await self._refresh("presence.heartbeat")

    async def handle_presence(self, message: dict[str, Any]) -> None:
        """`status` (online, away, busy), `activity` (text) and `selection` (node ids), any
        of them; `{"type": "status", "status": ...}` is the same message."""
        fields = {name: value for name, value in message.items() if name != "type"}
        data = PresenceInputSerializer(data=fields)
        if not data.is_valid():
            raise FrameError(FrameErrorCode.INVALID_MESSAGE, _problems(data.errors))
        for name, value in data.validated_data.items():
            setattr(self.presence, name, value)
        await self._refresh("presence.updated")

    async def handle_pointer(self, message: dict[str, Any]) -> None:
        """Where one points on the canvas, `{"x": .., "y": ..}` (or `"pointer": null` when
        the pointer left it): relayed to the others, not stored."""
        if "pointer" in message and message["pointer"] is None:
            pointer = None
        else:
            x, y = message.get("x"), message.get("y")
            if not all(isinstance(value, int | float) and not isinstance(value, bool)
                       and math.isfinite(value) and abs(value) <= POINTER_LIMIT
                       for value in (x, y)):
                raise FrameError(FrameErrorCode.INVALID_MESSAGE,
                                 '"x" and "y" must be finite numbers (or send "pointer": '
                                 "null).")
            pointer = {"x": x, "y": y}
        await self.channel_layer.group_send(self.group, {
            "type": "presence.event", "event": "presence.pointer",
            "sender": self.channel_name, "user": self.presence.public(), "pointer": pointer})

    async def _refresh(self, event: str) -> None:
        await services.presence_save(client=self.redis, workflow_id=self.workflow_id,
                                     presence=self.presence)
        await self._broadcast(event)

    async def _broadcast(self, event: str) -> None:
        await self.channel_layer.group_send(self.group, {
            "type": "presence.event", "event": event, "sender": self.channel_name,
            "user": self.presence.public()})

    async def _record(self, kind: str) -> None:
        await database_sync_to_async(services.event_record)(
            workflow=self.workflow, kind=kind, user=self.scope["user"],
            data={"via": "socket"})

    async def presence_event(self, message: dict[str, Any]) -> None:
        """Another socket's (or an API client's) presence change, relayed to this one (not
        back to its sender)."""
        if message["sender"] == self.channel_name:
            return
        frame = {"type": message["event"], "user": message["user"]}
        if "pointer" in message:
            frame["pointer"] = message["pointer"]
        await self.send_json(frame)

    async def collaboration_event(self, message: dict[str, Any]) -> None:
        """A stored collaboration event of the workflow."""
        await self.send_json({"type": "event", "event": message["event"]})

    async def draft_problems(self, message: dict[str, Any]) -> None:
        """The shared draft's validation report after an edit (`valid`, `errors`,
        `warnings`), as of draft update `seq`."""
        await self.send_json({"type": "draft.problems", "seq": message["seq"],
                              "report": message["report"]})
