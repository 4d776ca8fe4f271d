"""Child executions: Loop iterations and Subworkflow runs, and reporting back to the parent.

The parent's node waits on a `subworkflow` bookmark whose request says what to start
(written once: the items, how many, how many at once). Its progress is two counters on
the bookmark (children started, children completed) and the children's own rows (status,
output, `item_index`, `reported_at`): a child's completion is an update of two integers
and of its own row, whatever the number of items. A child that reaches a terminal status
sends `child_settle` after its commit, which takes the parent's lock alone (a parent
never waits on a child's lock while the child waits on the parent's), counts it, starts
the next item, and resumes the parent's node once every child has completed (a loop's
output is read from the children, in item order), or fails it when one has failed.

Every child records its root and depth; `children_admit` bounds the depth and the number
of children one execution starts (WORKFLOW_MAX_DEPTH, WORKFLOW_MAX_CHILDREN), and
`descendants_reserve` the size of a whole tree (WORKFLOW_MAX_DESCENDANTS).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from executions.models import (
    EXECUTION_ADVANCING,
    EXECUTION_TERMINAL,
    Bookmark,
    BookmarkStatus,
    Execution,
    ExecutionStatus,
    NodeExecution,
    NodeStatus,
)
from executions.plan import execution_plan
from executions.services.flow import execution_cancel, node_failed_finally
from executions.services.start import execution_start_child
from executions.services.transitions import log_entry, logs_write
from executions.services.waits import bookmark_resume
from executions.store import node_move
from workflows.models import Workflow
from workflows.nodes.faults import ExternalFault, ValidationFault


def children_admit(*, execution: Execution, node_id: str, count: int) -> None:
    """Reserve `count` children for a node of `execution` (locked by the caller), or
    raise the node's fault when they would be too deep or too many."""
    depth = execution.depth + 1
    if depth > settings.WORKFLOW_MAX_DEPTH:
        raise ValidationFault(
            f"Node '{node_id}' would start a child execution at depth {depth}; executions "
            f"nest at most {settings.WORKFLOW_MAX_DEPTH} deep (WORKFLOW_MAX_DEPTH). Does a "
            "workflow start itself through another?",
            details={"depth": depth, "limit": settings.WORKFLOW_MAX_DEPTH},
        )
    total = execution.children_count + count
    if total > settings.WORKFLOW_MAX_CHILDREN:
        raise ValidationFault(
            f"Node '{node_id}' would start {count} child execution(s), {total} in all for "
            f"this execution; one execution starts at most {settings.WORKFLOW_MAX_CHILDREN} "
            "(WORKFLOW_MAX_CHILDREN).",
            details={"count": count, "total": total, "limit": settings.WORKFLOW_MAX_CHILDREN},
        )
    Execution.objects.filter(pk=execution.pk).update(children_count=F("children_count") + count)
    execution.children_count = total


def descendants_reserve(*, execution: Execution, node_id: str, count: int) -> None:
    """Reserve `count` executions in the tree of the execution's root, or raise the node's
    fault when the tree would exceed WORKFLOW_MAX_DESCENDANTS.

    One conditional statement of its own, before the node's execution is locked: the
    root's row is locked for that moment only, so a writer never waits for the root while
    holding a descendant (a cancel locks the root, then its descendants)."""
    limit = settings.WORKFLOW_MAX_DESCENDANTS
    if not Execution.objects.filter(
        pk=execution.root_id or execution.pk, descendants_count__lte=limit - count,
    ).update(descendants_count=F("descendants_count") + count):
        raise ValidationFault(
            f"Node '{node_id}' would start {count} child execution(s) in a tree that holds "
            f"at most {limit} (WORKFLOW_MAX_DESCENDANTS) below its top-level execution "
            f"{execution.root_id or execution.pk}.",
            details={"count": count, "limit": limit},
        )


def descendants_release(*, execution: Execution, count: int) -> None:
    """Give back a reservation whose children were refused after all."""
    Execution.objects.filter(pk=execution.root_id or execution.pk).update(
        descendants_count=F("descendants_count") - count)


def _start(parent: Execution, bookmark: Bookmark, index: int) -> Execution:
    request = bookmark.request
    if request["mode"] == "workflow":
        workflow = Workflow.objects.select_related("current_version").get(
            pk=request["workflow_id"])
        version = workflow.versions.get(number=request["version"])
        return execution_start_child(parent=parent, bookmark=bookmark, workflow=workflow,
                                     version=version, input=request.get("input") or {})
    if request.get("body_workflow_id"):  # a loop whose body is another workflow
        workflow = Workflow.objects.get(pk=request["body_workflow_id"])
        version = workflow.versions.get(number=request["body_version"])
        graph_path = ""
    else:  # an inline body: the parent's own version, narrowed to the body
        workflow, version = parent.workflow, parent.version
        graph_path = "/".join(filter(None, [parent.graph_path, bookmark.node_id]))
    # An iteration reads the input of the execution running the loop
    # (`selectors.execution_input`) rather than storing a copy per item.
    return execution_start_child(
        parent=parent, bookmark=bookmark, workflow=workflow, version=version,
        input={}, graph_path=graph_path, item=request["items"][index],
        item_index=index,
    )


def children_start(*, parent: Execution, bookmark: Bookmark) -> list[Execution]:
    """Start the first children of a waiting Loop or Subworkflow node."""
    request = bookmark.request
    first = min(request.get("count", 1), int(request.get("concurrency", 1)))
    started = [_start(parent, bookmark, index) for index in range(first)]
    Bookmark.objects.filter(pk=bookmark.pk).update(children_started=first)
    return started


def child_settle(*, child_id: Any) -> bool:
    """A child reached a terminal status: count it and go on, or fail the parent's node.
    Sent after the child's end commits, and by the sweeper for a child whose message was
    lost; the first call records it (`reported_at`), any later one changes nothing.
    Returns whether this call recorded it."""
    child = Execution.objects.get(pk=child_id)
    if child.parent_id is None or child.status not in EXECUTION_TERMINAL:
        return False
    with transaction.atomic():
        parent = Execution.objects.select_for_update(of=("self",)).select_related(
            "version", "workflow").get(pk=child.parent_id)
        if not Execution.objects.filter(pk=child.pk, reported_at__isnull=True).update(
                reported_at=timezone.now()):
            return False  # this child was settled already (a repeated message)
        bookmark = Bookmark.objects.select_for_update().filter(
            pk=child.parent_bookmark_id, status=BookmarkStatus.OPEN).first()
        if bookmark is None or parent.status in EXECUTION_TERMINAL:
            return True  # nothing waits on it any more (detached, or its wait has ended)
        if child.status != ExecutionStatus.COMPLETED:
            _node_fail(parent, bookmark, child)
            return True
        count = bookmark.request.get("count", 1)
        started, completed = bookmark.children_started, bookmark.children_completed + 1
        if started < count:
            _start(parent, bookmark, started)
            started += 1
        Bookmark.objects.filter(pk=bookmark.pk).update(children_started=started,
                                                       children_completed=completed)
        if completed == count and parent.status in EXECUTION_ADVANCING:
            bookmark_resume(bookmark=bookmark, payload=_results(bookmark, child), by=None)
    return True


def _results(bookmark: Bookmark, last: Execution) -> Any:
    """The node's output: a loop's children's outputs in item order, else the child's."""
    if bookmark.request["mode"] != "loop":
        return last.output
    return list(bookmark.children.order_by("item_index").values_list("output", flat=True))


def _node_fail(parent: Execution, bookmark: Bookmark, child: Execution) -> None:
    Bookmark.objects.filter(pk=bookmark.pk).update(status=BookmarkStatus.CLOSED)
    for sibling in bookmark.children.exclude(status__in=EXECUTION_TERMINAL):
        execution_cancel(execution=sibling)
    error = ExternalFault(
        f"Node '{bookmark.node_id}': child execution {child.pk} {child.status}"
        + (f": {child.error.get('message')}" if child.error else "."),
        details={"child": str(child.pk)},
    ).as_dict()
    node_move(NodeExecution.objects.filter(execution=parent, node_id=bookmark.node_id,
                                           iteration=bookmark.iteration,
                                           status=NodeStatus.WAITING),
              NodeStatus.FAILED, error=error, finished_at=timezone.now())
    logs_write([log_entry(parent, "node.failed", node_id=bookmark.node_id, level="error",
              message=error["message"], data=error)])
    if parent.status in EXECUTION_ADVANCING:
        node_failed_finally(parent, execution_plan(parent), bookmark.node_id, error)
