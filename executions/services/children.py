"""Child executions: Loop iterations and Subworkflow runs, and reporting back to the parent.

The parent's node waits on a `subworkflow` bookmark whose request keeps the progress:
`count` children in all, `next` to start, `results` by item position. A child that
reaches a terminal status sends `child_settle` after its commit, which takes the parent's
lock alone (a parent never waits on a child's lock while the child waits on the parent's),
records the result, starts the next item, and resumes the parent's node once every child
has completed, or fails it when one has failed.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from executions.models import (
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
from workflows.models import Workflow
from workflows.nodes.faults import ExternalFault


def _start(parent: Execution, bookmark: Bookmark, index: int) -> Execution:
    request = bookmark.request
    if request["mode"] == "workflow":
        workflow = Workflow.objects.select_related("current_version").get(
            pk=request["workflow_id"])
        version = workflow.versions.get(number=request["version"])
        return execution_start_child(parent=parent, node_id=bookmark.node_id,
                                     workflow=workflow, version=version,
                                     input=request.get("input") or {})
    if request.get("body_workflow_id"):  # a loop whose body is another workflow
        workflow = Workflow.objects.get(pk=request["body_workflow_id"])
        version = workflow.versions.get(number=request["body_version"])
        graph_path = ""
    else:  # an inline body: the parent's own version, narrowed to the body
        workflow, version = parent.workflow, parent.version
        graph_path = "/".join(filter(None, [parent.graph_path, bookmark.node_id]))
    return execution_start_child(
        parent=parent, node_id=bookmark.node_id, workflow=workflow, version=version,
        input=parent.input, graph_path=graph_path, item=request["items"][index],
        item_index=index,
    )


def children_start(*, parent: Execution, bookmark: Bookmark) -> None:
    """Start the first children of a waiting Loop or Subworkflow node."""
    request = bookmark.request
    count = request.get("count", 1)
    first = min(count, int(request.get("concurrency", 1)))
    for index in range(first):
        _start(parent, bookmark, index)
    Bookmark.objects.filter(pk=bookmark.pk).update(request={
        **request, "count": count, "next": first, "done": 0, "results": [None] * count})


def child_settle(*, child_id: Any) -> None:
    """A child reached a terminal status: record it and go on, or fail the parent's node."""
    child = Execution.objects.get(pk=child_id)
    if child.parent_id is None:
        return
    with transaction.atomic():
        parent = Execution.objects.select_for_update(of=("self",)).select_related(
            "version", "workflow").get(pk=child.parent_id)
        bookmark = Bookmark.objects.select_for_update().filter(
            execution=parent, node_id=child.parent_node, status=BookmarkStatus.OPEN).first()
        if bookmark is None or parent.status in EXECUTION_TERMINAL:
            return
        request = dict(bookmark.request)
        position = child.item_index or 0
        if child.status != ExecutionStatus.COMPLETED:
            _node_fail(parent, bookmark, child)
            return
        if request["results"][position] is not None or str(child.pk) in request.get(
                "settled", []):
            return  # this child was settled already (a repeated message)
        request["results"][position] = child.output
        request["settled"] = [*request.get("settled", []), str(child.pk)]
        request["done"] += 1
        if request["next"] < request["count"]:
            _start(parent, bookmark, request["next"])
            request["next"] += 1
        Bookmark.objects.filter(pk=bookmark.pk).update(request=request)
        bookmark.request = request
        if request["done"] == request["count"] and parent.status in (
            ExecutionStatus.RUNNING, ExecutionStatus.WAITING
        ):
            payload = request["results"] if request["mode"] == "loop" else child.output
            bookmark_resume(bookmark=bookmark, payload=payload, by=None)


def _node_fail(parent: Execution, bookmark: Bookmark, child: Execution) -> None:
    Bookmark.objects.filter(pk=bookmark.pk).update(status=BookmarkStatus.CLOSED)
    for sibling in parent.children.filter(parent_node=bookmark.node_id).exclude(
            status__in=EXECUTION_TERMINAL):
        execution_cancel(execution=sibling)
    error = ExternalFault(
        f"Node '{bookmark.node_id}': child execution {child.pk} {child.status}"
        + (f": {child.error.get('message')}" if child.error else "."),
        details={"child": str(child.pk)},
    ).as_dict()
    NodeExecution.objects.filter(execution=parent, node_id=bookmark.node_id,
                                 status=NodeStatus.WAITING).update(
        status=NodeStatus.FAILED, error=error)
    logs_write([log_entry(parent, "node.failed", node_id=bookmark.node_id, level="error",
              message=error["message"], data=error)])
    if parent.status in (ExecutionStatus.RUNNING, ExecutionStatus.WAITING):
        node_failed_finally(parent, execution_plan(parent), bookmark.node_id, error)
