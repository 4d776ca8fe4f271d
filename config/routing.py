"""Websocket routes, served by Channels (see `config.asgi`).

Live execution updates (`/ws/executions/{id}/`) and collaboration (`/ws/workflows/{id}/`)
are added by the executions and collaboration apps.
"""

websocket_urlpatterns: list = []
