"""ASGI entry point: HTTP through Django, websockets through Channels.

A websocket is authenticated by the session cookie, or by a JWT access token in the query
string (`?token=<access>`), since browsers cannot set an Authorization header on one.
"""

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
from django.contrib.auth.models import AnonymousUser  # noqa: E402

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


application = ProtocolTypeRouter(
    {
        "http": django_asgi_application,
        "websocket": AllowedHostsOriginValidator(
            WebsocketAuthStack(URLRouter(websocket_urlpatterns))
        ),
    }
)
