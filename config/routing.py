"""Websocket routes, served by Channels (see `config.asgi`).

Live execution updates (`/ws/executions/{id}/`) belong to the executions app, presence in
the designer (`/ws/workflows/{id}/`) and its shared draft (`/ws/workflows/{id}/draft/`,
Yjs's binary sync protocol) to the collaboration app. Any other path is accepted
and closed with 4404, never an error of the server.
"""

from django.urls import path, re_path

from collaboration.consumers import DraftConsumer, WorkflowConsumer
from config.websockets import NotFoundConsumer
from executions.consumers import ExecutionConsumer

websocket_urlpatterns: list = [
    path("ws/executions/<uuid:id>/", ExecutionConsumer.as_asgi()),
    path("ws/workflows/<uuid:id>/", WorkflowConsumer.as_asgi()),
    path("ws/workflows/<uuid:id>/draft/", DraftConsumer.as_asgi()),
    re_path(r"", NotFoundConsumer.as_asgi()),
]
