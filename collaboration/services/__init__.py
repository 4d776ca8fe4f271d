"""Writes of the collaboration app: presence (`presence`), events and shared state
(`events`), the shared draft and its publishing (`drafts`), comments on nodes
(`comments`); `live` sends to the sockets."""

from collaboration.services.comments import comment_add, thread_resolve
from collaboration.services.drafts import (
    draft_open,
    draft_publish,
    draft_reconcile,
    draft_report_save,
    draft_update_append,
)
from collaboration.services.events import event_public, event_record, state_delete, state_put
from collaboration.services.live import group_send, workflow_group
from collaboration.services.presence import (
    Presence,
    presence_join,
    presence_leave,
    presence_leave_api,
    presence_save,
)

__all__ = [
    "Presence", "comment_add", "draft_open", "draft_publish", "draft_reconcile",
    "draft_report_save", "draft_update_append", "event_public", "event_record", "group_send",
    "presence_join", "presence_leave", "presence_leave_api", "presence_save", "state_delete",
    "state_put", "thread_resolve", "workflow_group",
]
