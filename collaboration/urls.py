"""Routes of the collaboration app, under /api/collaboration/.

A workflow is named by its id or `namespace/name`. The routes with more parts come first:
`<workflow>/state/users` is the key `users` of the workflow's state, not the users of a
workflow named `<workflow>/state`.
"""

from django.urls import path, re_path

from collaboration.apis import (
    CommentsApi,
    CommentThreadApi,
    DraftApi,
    DraftPublishApi,
    EventsApi,
    JoinApi,
    LeaveApi,
    PresenceManyApi,
    StateKeyApi,
    StateListApi,
    UserOnlineApi,
    UserPresenceApi,
    UsersApi,
    UserWorkflowsApi,
)
from workflows.selectors import WORKFLOW_REFERENCE_REGEX

WORKFLOW = rf"^workflows/(?P<workflow>{WORKFLOW_REFERENCE_REGEX})"

urlpatterns = [
    re_path(rf"{WORKFLOW}/state/(?P<key>[^/]+)$", StateKeyApi.as_view(),
            name="collaboration-state-key"),
    re_path(rf"{WORKFLOW}/users/(?P<user>[^/]+)/presence$", UserPresenceApi.as_view(),
            name="collaboration-user-presence"),
    re_path(rf"{WORKFLOW}/comments/(?P<node>[^/]+)$", CommentThreadApi.as_view(),
            name="collaboration-comment-thread"),
    re_path(rf"{WORKFLOW}/comments$", CommentsApi.as_view(), name="collaboration-comments"),
    re_path(rf"{WORKFLOW}/draft/publish$", DraftPublishApi.as_view(),
            name="collaboration-draft-publish"),
    re_path(rf"{WORKFLOW}/draft$", DraftApi.as_view(), name="collaboration-draft"),
    re_path(rf"{WORKFLOW}/join$", JoinApi.as_view(), name="collaboration-join"),
    re_path(rf"{WORKFLOW}/leave$", LeaveApi.as_view(), name="collaboration-leave"),
    re_path(rf"{WORKFLOW}/users$", UsersApi.as_view(), name="collaboration-users"),
    re_path(rf"{WORKFLOW}/state$", StateListApi.as_view(), name="collaboration-state"),
    re_path(rf"{WORKFLOW}/events$", EventsApi.as_view(), name="collaboration-events"),
    path("presence", PresenceManyApi.as_view(), name="collaboration-presence"),
    path("users/<str:user>/online", UserOnlineApi.as_view(), name="collaboration-online"),
    path("users/<str:user>/workflows", UserWorkflowsApi.as_view(),
         name="collaboration-user-workflows"),
]
