"""Comments on a workflow's nodes: a thread per node, open or resolved; each change is a
`commented` event sent live to the workflow's sockets."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from collaboration.errors import CommentsFullError
from collaboration.models import Comment, CommentThread, EventKind
from collaboration.services.events import event_record


def comment_add(*, workflow: Any, node: str, body: str, author: Any) -> Comment:
    """Add a comment to the node's thread (made on the first comment; a resolved thread
    opens again)."""
    with transaction.atomic():
        thread, _ = CommentThread.objects.select_for_update().get_or_create(
            workflow=workflow, node=node)
        if thread.comments.count() >= settings.COLLABORATION_THREAD_MAX_COMMENTS:
            raise CommentsFullError(
                f"Node '{node}' has {settings.COLLABORATION_THREAD_MAX_COMMENTS} comments, "
                "the most a thread may hold.",
                details={"node": node,
                         "max_comments": settings.COLLABORATION_THREAD_MAX_COMMENTS})
        if thread.resolved:
            thread.resolved, thread.resolved_by, thread.resolved_at = False, None, None
            thread.save(update_fields=["resolved", "resolved_by", "resolved_at"])
        comment = Comment.objects.create(thread=thread, author=author, body=body)
        event_record(workflow=workflow, kind=EventKind.COMMENTED, user=author,
                     data={"node": node, "comment": comment.pk, "resolved": False})
    return comment


def thread_resolve(*, workflow: Any, node: str, resolved: bool, user: Any
                   ) -> CommentThread | None:
    """Mark the node's thread resolved (or open again); None when the node has none."""
    with transaction.atomic():
        thread = (CommentThread.objects.select_for_update()
                  .filter(workflow=workflow, node=node).first())
        if thread is None:
            return None
        if thread.resolved != resolved:
            thread.resolved = resolved
            thread.resolved_by = user if resolved else None
            thread.resolved_at = timezone.now() if resolved else None
            thread.save(update_fields=["resolved", "resolved_by", "resolved_at"])
            event_record(workflow=workflow, kind=EventKind.COMMENTED, user=user,
                         data={"node": node, "resolved": resolved})
    return thread
