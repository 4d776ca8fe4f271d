"""What every websocket of the platform shares: close codes, the error frame, and the
reading of client frames (size, rate, JSON object with a known `type`).

A frame that cannot be used never drops the socket: the client gets
`{"type": "error", "code": ..., "message": ...}` and the connection stays open.
"""

from __future__ import annotations

import contextlib
import json
import time
from enum import StrEnum
from typing import Any, ClassVar

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from config.parsers import JsonLimitError, json_loads

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_PROTOCOL_ERROR = 4400
CLOSE_TOO_LARGE = 4413
CLOSE_RATE_LIMITED = 4429


class FrameErrorCode(StrEnum):
    """Why a client frame was not used."""

    BINARY_UNSUPPORTED = "binary_unsupported"
    MESSAGE_TOO_LARGE = "message_too_large"
    RATE_LIMITED = "rate_limited"
    INVALID_JSON = "invalid_json"
    INVALID_MESSAGE = "invalid_message"
    UNKNOWN_TYPE = "unknown_type"


class FrameError(Exception):
    """A client frame the consumer refuses; answered with an error frame."""

    def __init__(self, code: FrameErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class RateLimit:
    """A token bucket: `rate` messages a second, bursts of up to `rate`."""

    def __init__(self, rate: int) -> None:
        self.rate = max(rate, 1)
        self.tokens = float(self.rate)
        self.updated = time.monotonic()

    def allow(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.rate, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class UserConsumer(AsyncWebsocketConsumer):
    """A consumer for logged-in users holding a permission (`accept_user`)."""

    async def send(self, text_data: str | None = None, bytes_data: bytes | None = None,
                   close: bool = False) -> None:
        """Send a frame; nothing when the client has gone already. The server refuses a
        send after the client closed (an OSError); uncaught, it would end the consumer
        before its `disconnect` runs, and what that cleans up (presence, a draft's room)
        would stay."""
        with contextlib.suppress(OSError):
            await super().send(text_data=text_data, bytes_data=bytes_data, close=close)

    async def accept_user(self, permission: str) -> bool:
        """Accept, then close with 4401 or 4403 unless the user is logged in and holds
        `permission`. Accepted first so that a browser sees the close code (a refused
        handshake reaches it as a bare HTTP 403)."""
        await self.accept()
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return False
        if not await database_sync_to_async(user.has_perm)(permission):
            await self.close(code=CLOSE_FORBIDDEN)
            return False
        return True


class JsonFrameConsumer(UserConsumer):
    """A consumer that speaks JSON objects with a `type`.

    Subclasses list the client message types they accept in `handlers`
    (`{"ping": method}`); `ping` is answered with `pong` on every socket.
    """

    handlers: ClassVar[dict[str, str]] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rate_limit = RateLimit(settings.WEBSOCKET_MESSAGES_PER_SECOND)

    async def send_json(self, content: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(content, separators=(",", ":")))

    async def send_error(self, code: str, message: str) -> None:
        await self.send_json({"type": "error", "code": code, "message": message})

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None
                      ) -> None:
        try:
            message = self.frame_read(text_data, bytes_data)
            handler = {"ping": "handle_ping", **self.handlers}.get(message["type"])
            if handler is None:
                raise FrameError(FrameErrorCode.UNKNOWN_TYPE,
                                 f"Unknown message type {message['type']!r}.")
            await getattr(self, handler)(message)
        except FrameError as error:
            await self.send_error(error.code, error.message)

    def frame_read(self, text_data: str | None, bytes_data: bytes | None) -> dict[str, Any]:
        """The frame as a JSON object with a string `type`, or a FrameError saying why not."""
        if not self.rate_limit.allow():
            raise FrameError(
                FrameErrorCode.RATE_LIMITED,
                f"More than {self.rate_limit.rate} messages a second; this one was dropped.")
        if text_data is None:
            raise FrameError(FrameErrorCode.BINARY_UNSUPPORTED,
                             "Binary frames are not supported; send JSON text.")
        limit = settings.WEBSOCKET_MAX_MESSAGE_BYTES
        if len(text_data) > limit or len(text_data.encode()) > limit:
            raise FrameError(FrameErrorCode.MESSAGE_TOO_LARGE,
                             f"A message may hold at most {limit} bytes.")
        try:
            message = json_loads(text_data)
        except JsonLimitError as exc:
            raise FrameError(FrameErrorCode.INVALID_JSON,
                             f"The message is not valid JSON: {exc.message}") from None
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            raise FrameError(FrameErrorCode.INVALID_MESSAGE,
                             'A message is a JSON object with a string "type".')
        return message

    async def handle_ping(self, message: dict[str, Any]) -> None:
        await self.send_json({"type": "pong"})


class NotFoundConsumer(JsonFrameConsumer):
    """Every websocket path without a route: accepted, then closed with 4404."""

    async def connect(self) -> None:
        await self.accept()
        await self.close(code=CLOSE_NOT_FOUND)
