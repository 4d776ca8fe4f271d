"""The collaboration sockets: presence and events (`/ws/workflows/{id}/`, JSON) and the
shared draft (`/ws/workflows/{id}/draft/`, Yjs's binary sync protocol)."""

from collaboration.consumers.drafts import DraftConsumer
from collaboration.consumers.presence import WorkflowConsumer

__all__ = ["DraftConsumer", "WorkflowConsumer"]
