"""Opening a wait: a node that asked to wait leaves its bookmark and frees its worker; a
Subworkflow's wait also admits and starts its child executions (executions/services/
children.py). Resuming a wait is executions/services/waits.py.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.db import transaction
from django.utils import timezone

from executions.models import (
    Bookmark,
    BookmarkKind,
    BookmarkStatus,
    Execution,
    ExecutionStatus,
    NodeExecution,
    NodeStatus,
)
from executions.plan import Plan
from executions.services.children import children_admit, children_start
from executions.services.flow import execution_advance
from executions.services.transitions import execution_transition, log_entry, logs_write
from executions.store import node_move
from workflows.nodes.context import NodeContext, WaitRequest


def node_wait(*, execution_id: Any, row: NodeExecution, plan: Plan, wait: WaitRequest,
              context: NodeContext) -> Bookmark | None:
    """The node asked to wait: open its bookmark and free the worker.

    A wait on child executions that would nest too deep or start too many raises the
    node's fault (`children_admit`), and nothing is written."""
    with transaction.atomic():
        execution = Execution.objects.select_for_update(of=("self",)).select_related(
            "version", "workflow").get(pk=execution_id)
        moved = node_move(NodeExecution.objects.filter(
            pk=row.pk, status=NodeStatus.RUNNING, attempt=row.attempt), NodeStatus.WAITING)
        if not moved:
            return None
        if wait.kind == BookmarkKind.SUBWORKFLOW:
            children_admit(execution=execution, node_id=row.node_id,
                           count=wait.request.get("count", 1))
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
            [child, *_] = children_start(parent=execution, bookmark=bookmark)
            if wait.request.get("detach"):  # Subworkflow with wait: false
                Bookmark.objects.filter(pk=bookmark.pk).update(status=BookmarkStatus.CLOSED)
                node_move(NodeExecution.objects.filter(pk=row.pk), NodeStatus.COMPLETED,
                          output={"execution_id": str(child.pk)}, finished_at=timezone.now())
                logs_write([log_entry(execution, "node.completed", node_id=row.node_id)])
                execution_advance(execution, plan, [row.node_id])
                return bookmark
        if execution.status == ExecutionStatus.RUNNING and _waits_first(execution, plan, row):
            execution_transition(execution, ExecutionStatus.WAITING)
        elif execution.status == ExecutionStatus.RUNNING:  # the node rows say if all wait
            execution_advance(execution, plan, [])
    return bookmark


def _waits_first(execution: Execution, plan: Plan, row: NodeExecution) -> bool:
    """The waiting node is the graph's only root: every other node comes after it, so
    nothing else can run or be queued, and no node row needs reading to know it."""
    return (plan.roots == (row.node_id,) and not row.iteration
            and execution.compensation is None)
