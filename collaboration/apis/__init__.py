"""Collaboration API: presence, shared state, events, the shared draft and comments on
nodes of a workflow's collaborators.

Reading needs `workflow.read`; so does being present (joining, leaving, saying what one
does) and commenting. Changing the shared state, posting events and publishing the draft
need `workflow.write`.
"""

from collaboration.apis.comments import CommentsApi, CommentThreadApi
from collaboration.apis.common import PresenceInputSerializer
from collaboration.apis.drafts import DraftApi, DraftPublishApi
from collaboration.apis.presence import (
    JoinApi,
    LeaveApi,
    PresenceManyApi,
    UserOnlineApi,
    UserPresenceApi,
    UsersApi,
    UserWorkflowsApi,
)
from collaboration.apis.state import EventsApi, StateKeyApi, StateListApi

__all__ = [
    "CommentThreadApi", "CommentsApi", "DraftApi", "DraftPublishApi", "EventsApi", "JoinApi",
    "LeaveApi", "PresenceInputSerializer", "PresenceManyApi", "StateKeyApi", "StateListApi",
    "UserOnlineApi", "UserPresenceApi", "UserWorkflowsApi", "UsersApi",
]
