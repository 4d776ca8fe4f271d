"""ASGI entry point: HTTP through Django, websockets through Channels.

Django's ASGI handler reads a whole request body (to a temporary file) before any
middleware runs, whatever its size and whether or not it declares a `Content-Length`
(`Transfer-Encoding: chunked` does not), and DRF's parsers read what it stored without a
limit. `BodySizeLimit` counts the body as it arrives and answers 413 once it passes
MAX_DEFINITION_BYTES, so no body over the limit is stored or parsed.

A websocket is authenticated by the session cookie, or by a JWT access token in the query
string (`?token=<access>`), since browsers cannot set an Authorization header on one.
"""

import json
import os
from urllib.parse import parse_qs

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ["WEFT_ASGI"] = "1"  # the web server borrows database connections from a pool
django_asgi_application = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.db import database_sync_to_async  # noqa: E402
from channels.middleware import BaseMiddleware  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth.models import AnonymousUser  # noqa: E402

from config.parsers import whole_number  # noqa: E402
from config.routing import websocket_urlpatterns  # noqa: E402
from config.tokens import TokenInvalidError, access_token_user  # noqa: E402


@database_sync_to_async
def _token_user(raw: str):
    try:
        return access_token_user(raw=raw)
    except TokenInvalidError:
        return AnonymousUser()


class JWTQueryAuthMiddleware(BaseMiddleware):
    """Sets `scope["user"]` from `?token=<JWT access token>` when no session logged in."""

    async def __call__(self, scope, receive, send):
        tokens = parse_qs(scope.get("query_string", b"").decode()).get("token")
        if tokens and not getattr(scope.get("user"), "is_authenticated", False):
            scope = {**scope, "user": await _token_user(tokens[0])}
        return await super().__call__(scope, receive, send)


def WebsocketAuthStack(inner):  # noqa: N802 - named like Channels' AuthMiddlewareStack
    return AuthMiddlewareStack(JWTQueryAuthMiddleware(inner))


class _BodyTooLarge(Exception):
    pass


class BodySizeLimit:
    """Answers 413 `payload_too_large` to an HTTP request whose body (declared, or counted
    as it arrives) is over MAX_DEFINITION_BYTES, before the application stores it."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        limit = settings.MAX_DEFINITION_BYTES
        declared = dict(scope.get("headers", [])).get(b"content-length", b"0")
        size = whole_number(declared, maximum=limit)
        if size is None or size <= limit:
            received = 0

            async def counted_receive():
                nonlocal received
                message = await receive()
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLarge
                return message

            try:
                return await self.app(scope, counted_receive, send)
            except _BodyTooLarge:
                pass
        body = json.dumps({
            "code": "payload_too_large",
            "message": f"The request body is larger than the maximum of {limit} bytes.",
            "details": {"max_bytes": limit},
        }).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


application = ProtocolTypeRouter(
    {
        "http": BodySizeLimit(django_asgi_application),
        "websocket": AllowedHostsOriginValidator(
            WebsocketAuthStack(URLRouter(websocket_urlpatterns))
        ),
    }
)
