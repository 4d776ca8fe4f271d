"""Websocket routes, served by Channels (see `config.asgi`).

Live execution updates (`/ws/executions/{id}/`) belong to the executions app;
collaboration (`/ws/workflows/{id}/`) is added by the collaboration app.
"""

from django.urls import path

from executions.consumers import ExecutionConsumer

websocket_urlpatterns: list = [
    path("ws/executions/<uuid:id>/", ExecutionConsumer.as_asgi()),
]
