"""Waiting nodes: bookmarks opened, resumed by a person, a message, a hook or a timer.

A waiting node holds no worker. Its node run is `waiting`, a bookmark row says what may
resume it, and the continuation is the execution's own state: resuming completes the node
with the resume's output, in one transaction, and advances the graph from there. Nothing
lives in process memory, so a wait survives a restart of every process.
"""

from __future__ import annotations

import dataclasses
import secrets
from typing import Any

from django.db import transaction
from django.utils import timezone

from executions.errors import BookmarkClosedError, IllegalTransitionError, ResumeInvalidError
from executions.models import (
    Bookmark,
    BookmarkKind,
    BookmarkStatus,
    Execution,
    ExecutionStatus,
    NodeExecution,
    NodeStatus,
)
from executions.plan import Plan, execution_plan
from executions.services.flow import execution_advance, node_failed_finally
from executions.services.scope import SecretsView, redact
from executions.services.transitions import execution_transition, log_entry, logs_write
from workflows.nodes.context import NodeContext, WaitRequest
from workflows.nodes.faults import TimeoutFault, ValidationFault
from workflows.nodes.registry import default_registry

TIMER_BATCH = 500


def redact_wait(wait: WaitRequest, secrets_used: SecretsView) -> WaitRequest:
    return dataclasses.replace(wait, request=redact(wait.request, secrets_used))


def node_wait(*, execution_id: Any, row: NodeExecution, plan: Plan, wait: WaitRequest,
              context: NodeContext) -> Bookmark | None:
    """The node asked to wait: open its bookmark and free the worker."""
    with transaction.atomic():
        execution = Execution.objects.select_for_update(of=("self",)).select_related(
            "version", "workflow").get(pk=execution_id)
        moved = NodeExecution.objects.filter(
            pk=row.pk, status=NodeStatus.RUNNING, attempt=row.attempt
        ).update(status=NodeStatus.WAITING)
        if not moved:
            return None
        bookmark = Bookmark.objects.create(
            execution=execution, node_id=row.node_id, iteration=row.iteration,
            kind=wait.kind, token=secrets.token_urlsafe(32), key=wait.key,
            due_at=wait.due_at, assignee=wait.assignee,
            request={**wait.request, "on_due": wait.on_due},
        )
        logs_write([
            *(log_entry(execution, "node.message", node_id=row.node_id, level=m["level"],
                        message=m["message"], data=m["data"]) for m in context.messages),
            log_entry(execution, "node.waiting", node_id=row.node_id,
                      data={"kind": wait.kind, "bookmark": bookmark.pk,
                            "due_at": wait.due_at.isoformat() if wait.due_at else None}),
        ])
        if wait.kind == BookmarkKind.SUBWORKFLOW:
            from executions.services.children import children_start

            children_start(parent=execution, bookmark=bookmark)
            if wait.request.get("detach"):  # Subworkflow with wait: false
                bookmark.refresh_from_db()
                Bookmark.objects.filter(pk=bookmark.pk).update(status=BookmarkStatus.CLOSED)
                child = execution.children.filter(parent_node=row.node_id).latest("created_at")
                NodeExecution.objects.filter(pk=row.pk).update(
                    status=NodeStatus.COMPLETED, output={"execution_id": str(child.pk)},
                    finished_at=timezone.now())
                logs_write([log_entry(execution, "node.completed", node_id=row.node_id)])
                execution_advance(execution, plan, [row.node_id])
                return bookmark
        if execution.status == ExecutionStatus.RUNNING:
            execution_advance(execution, plan, [])
    return bookmark


def bookmark_resume(*, bookmark: Bookmark, payload: Any, by: str | None,
                    timed_out: bool = False) -> Bookmark:
    """Resume a waiting node: its output comes from the payload, then the graph goes on.

    Refused (409) when the bookmark is no longer open or the execution cannot go on
    (paused, cancelled); a payload the node refuses (an unknown outcome, a form that is
    not filled) is a 400 naming the field, and the bookmark stays open.
    """
    with transaction.atomic():
        execution = Execution.objects.select_for_update(of=("self",)).select_related(
            "version", "workflow").get(pk=bookmark.execution_id)
        locked = Bookmark.objects.select_for_update().get(pk=bookmark.pk)
        if locked.status != BookmarkStatus.OPEN:
            raise BookmarkClosedError(
                f"This wait was already {locked.status}.", details={"status": locked.status}
            )
        if execution.status not in (ExecutionStatus.RUNNING, ExecutionStatus.WAITING):
            raise IllegalTransitionError(
                f"The execution is {execution.status}; it cannot go on now.",
                details={"from": execution.status},
            )
        plan = execution_plan(execution)
        node_type = default_registry().get(plan.node_type(locked.node_id))
        try:
            output, branch = node_type.on_resume(
                locked.request, payload, by=by, timed_out=timed_out
            )
        except ValidationFault as fault:
            raise ResumeInvalidError(fault.message, details=fault.details) from None
        now = timezone.now()
        Bookmark.objects.filter(pk=locked.pk).update(
            status=BookmarkStatus.RESUMED, resumed_by=by or "", resumed_with=payload,
            resumed_at=now,
        )
        NodeExecution.objects.filter(
            execution=execution, node_id=locked.node_id, iteration=locked.iteration,
            status=NodeStatus.WAITING,
        ).update(status=NodeStatus.COMPLETED, output=output, branch=branch or "",
                 finished_at=now)
        logs_write([
            log_entry(execution, "node.resumed", node_id=locked.node_id, actor=by or "",
                      data={"kind": locked.kind, "timed_out": timed_out}),
            log_entry(execution, "node.completed", node_id=locked.node_id,
                      data={"branch": branch} if branch else None),
        ])
        if execution.status == ExecutionStatus.WAITING:
            execution_transition(execution, ExecutionStatus.RUNNING, actor=by or "")
        execution_advance(execution, plan, [locked.node_id])
    locked.status = BookmarkStatus.RESUMED
    return locked


def _bookmark_expire(bookmark: Bookmark) -> None:
    """A wait's timeout fired and the node has no timeout outcome: the node fails."""
    with transaction.atomic():
        execution = Execution.objects.select_for_update(of=("self",)).select_related(
            "version", "workflow").get(pk=bookmark.execution_id)
        if not Bookmark.objects.filter(pk=bookmark.pk, status=BookmarkStatus.OPEN).update(
            status=BookmarkStatus.CLOSED, resumed_at=timezone.now()
        ):
            return
        error = TimeoutFault(
            f"Node '{bookmark.node_id}' waited longer than its timeout."
        ).as_dict()
        NodeExecution.objects.filter(
            execution=execution, node_id=bookmark.node_id, iteration=bookmark.iteration,
            status=NodeStatus.WAITING,
        ).update(status=NodeStatus.FAILED, error=error, finished_at=timezone.now())
        logs_write([log_entry(execution, "node.failed", node_id=bookmark.node_id, level="error",
                  message=error["message"], data=error)])
        if execution.status in (ExecutionStatus.RUNNING, ExecutionStatus.WAITING):
            node_failed_finally(execution, execution_plan(execution), bookmark.node_id, error)


def timers_fire(*, now: Any = None, batch: int = TIMER_BATCH) -> int:
    """Fire the bookmarks that are due: timers resume, timeouts resume or fail the node.

    Each bookmark is taken by a conditional update, so a bookmark fired twice (two beats,
    a retried task) resumes its node once. Returns how many fired.
    """
    now = now or timezone.now()
    due = list(
        Bookmark.objects.filter(status=BookmarkStatus.OPEN, due_at__lte=now)
        .order_by("due_at")[:batch]
    )
    fired = 0
    for bookmark in due:
        try:
            if bookmark.request.get("on_due") == "fail":
                _bookmark_expire(bookmark)
            else:
                bookmark_resume(bookmark=bookmark, payload={}, by=None,
                                timed_out=bookmark.kind != BookmarkKind.TIMER)
            fired += 1
        except (BookmarkClosedError, IllegalTransitionError):
            continue  # resumed, cancelled or paused meanwhile
    return fired


def message_deliver(*, message_type: str, correlation_key: str, payload: Any,
                    by: str | None) -> list[Bookmark]:
    """Resume every open wait for this message type and correlation key."""
    waiting = Bookmark.objects.filter(
        status=BookmarkStatus.OPEN, kind=BookmarkKind.MESSAGE,
        key=f"{message_type}:{correlation_key}",
    ).order_by("created_at")
    resumed = []
    for bookmark in waiting:
        try:
            resumed.append(bookmark_resume(bookmark=bookmark, payload=payload, by=by))
        except (BookmarkClosedError, IllegalTransitionError):
            continue
    return resumed
