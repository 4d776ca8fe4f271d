"""Reads of the executions app."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.db.models import Count, JSONField, Max, OuterRef, Prefetch, QuerySet, Subquery
from django.db.models.expressions import RawSQL

from executions.models import (
    Bookmark,
    BookmarkKind,
    Execution,
    ExecutionLog,
    ExecutionStatus,
    NodeExecution,
    OutboxEvent,
)
from workflows.models import Workflow
from workflows.permissions import EXECUTE


def execution_list() -> QuerySet[Execution]:
    return Execution.objects.select_related("workflow", "version", "started_by")


def execution_detail_list() -> QuerySet[Execution]:
    return execution_list().prefetch_related(
        Prefetch("nodes", queryset=NodeExecution.objects.order_by("id"))
    )


def execution_status_counts(executions: QuerySet[Execution]) -> dict[str, int]:
    """How many of `executions` are in each status (every status named, 0 for none), in
    one grouped query."""
    counts = dict.fromkeys(ExecutionStatus.values, 0)
    counts.update(executions.order_by().values_list("status").annotate(count=Count("id")))
    return counts


def execution_input_owner(execution: Execution) -> Any:
    """The id of the execution whose input `execution` reads, or None when it reads its
    own. A Loop iteration stores no copy of the input (a loop over many items would store
    it once per item): it reads its parent's, which, for an iteration of a nested loop, is
    its parent's in turn."""
    return execution.parent_id if execution.item_index is not None else None


def execution_input(execution: Execution) -> Any:
    """The input `execution` runs with: its own, or for a Loop iteration the input of its
    nearest ancestor that is not an iteration, found in one query however deep the loops
    nest. (An iteration stored before iterations stopped copying it holds the same.)"""
    parent_id = execution_input_owner(execution)
    if parent_id is None:
        return execution.input
    table = connection.ops.quote_name(Execution._meta.db_table)
    # The table name comes from the model; the id is a parameter.
    found = list(Execution.objects.raw(
        f"WITH RECURSIVE up(id, parent_id, item_index) AS ("  # noqa: S608
        f"SELECT id, parent_id, item_index FROM {table} WHERE id = %s "
        f"UNION ALL SELECT e.id, e.parent_id, e.item_index FROM {table} e "
        "JOIN up ON e.id = up.parent_id WHERE up.item_index IS NOT NULL) "
        f"SELECT id, input FROM {table} WHERE id = (SELECT id FROM up WHERE item_index IS NULL)",
        [Execution._meta.pk.get_db_prep_value(parent_id, connection)]))
    return found[0].input if found else execution.input


def execution_children(*, execution: Execution, node_id: str | None = None,
                       status: list[str] | None = None) -> QuerySet[Execution]:
    """The child executions a node of the execution started (Loop iterations in item
    order, then Subworkflow runs), each with its node runs."""
    children = Execution.objects.filter(parent=execution).select_related("version").defer(
        "version__definition", "variables", "compensation").prefetch_related(
        Prefetch("nodes", queryset=NodeExecution.objects.order_by("id"))
    ).order_by("parent_node", "item_index", "created_at", "id")
    if node_id:
        children = children.filter(parent_node=node_id)
    if status:
        children = children.filter(status__in=status)
    return children


def execution_children_summary(*, execution: Execution) -> dict[str, dict[str, Any]]:
    """Per node that starts children: how many it runs in all (its latest wait's count),
    how many it started, and how many are in each status; two grouped queries."""
    summary: dict[str, dict[str, Any]] = {}
    for node_id, count, started in Bookmark.objects.filter(
        execution=execution, kind=BookmarkKind.SUBWORKFLOW,
    ).order_by("created_at").values_list("node_id", "request__count", "children_started"):
        summary[node_id] = {"total": count or 1, "started": started, "statuses": {}}
    for node_id, status, count in Execution.objects.filter(parent=execution).order_by().values(
        "parent_node", "status").annotate(count=Count("id")).values_list(
            "parent_node", "status", "count"):
        entry = summary.setdefault(node_id, {"total": None, "started": 0, "statuses": {}})
        entry["statuses"][status] = count
    return summary


def execution_logs(*, execution: Execution) -> QuerySet[ExecutionLog]:
    return execution.logs.order_by("id")


def bookmark_list(*, user: Any = None, mine: bool = False) -> QuerySet[Bookmark]:
    """Waits; with `mine`, those assigned to the user or to a group they are in."""
    bookmarks = Bookmark.objects.select_related("execution__workflow")
    if mine and user is not None:
        roles = [f"role:{name}" for name in user.groups.values_list("name", flat=True)]
        bookmarks = bookmarks.filter(assignee__in=[user.get_username(), *roles])
    return bookmarks


def bookmark_request_shown(request: Any) -> Any:
    """A wait's request as lists and pages show it: a Loop's items (up to
    WORKFLOW_LOOP_MAX_ITEMS) left out, their `count` kept; each item is on its iteration
    (`GET /api/executions/{id}/children`)."""
    if not isinstance(request, dict) or "items" not in request:
        return request
    shown = {key: value for key, value in request.items() if key != "items"}
    if isinstance(request["items"], list):
        shown["count"] = len(request["items"])
    return shown


def bookmarks_light(bookmarks: QuerySet[Bookmark]) -> QuerySet[Bookmark]:
    """The waits with their requests read without a Loop's items, as `request_shown`: on
    PostgreSQL the database leaves them out, so a page of loop waits does not read and
    decode every item of every loop."""
    if connection.vendor != "postgresql":
        return bookmarks
    column = ".".join(connection.ops.quote_name(name)
                      for name in (Bookmark._meta.db_table, "request"))
    # The column's name comes from the model; the key is a parameter.
    without_items = RawSQL(f"{column} - %s", ("items",), output_field=JSONField())  # noqa: S611
    return bookmarks.defer("request").annotate(request_shown=without_items)


def bookmark_assigned_to(*, bookmark: Bookmark, user: Any) -> bool:
    if not bookmark.assignee:
        return False
    if bookmark.assignee == user.get_username():
        return True
    role = bookmark.assignee.removeprefix("role:")
    return bookmark.assignee.startswith("role:") and user.groups.filter(name=role).exists()


def bookmarks_answerable(*, user: Any) -> QuerySet[Bookmark]:
    """The waits the user may resume (what `bookmark_may_answer` allows, as a query): every
    wait with workflow.execute, else those assigned to them or to a group they are in."""
    return bookmark_list(user=user, mine=not user.has_perm(EXECUTE))


def bookmark_may_answer(*, bookmark: Bookmark, user: Any) -> bool:
    """Whether the user may resume the wait: its assignee (by name or group), or anyone
    holding workflow.execute. The API and the admin ask the same question."""
    return user.has_perm(EXECUTE) or bookmark_assigned_to(bookmark=bookmark, user=user)


def workflow_last_runs(workflow_ids: list[Any]) -> dict[Any, dict[str, Any]]:
    """The newest run started by a trigger (not a loop iteration or a child) of each
    workflow, by workflow id: two queries whatever the number of workflows."""
    newest = Execution.objects.filter(workflow=OuterRef("pk"), parent__isnull=True).order_by(
        "-created_at").values("pk")[:1]
    ids = [pk for pk in Workflow.objects.filter(pk__in=workflow_ids).annotate(
        newest=Subquery(newest)).values_list("newest", flat=True) if pk is not None]
    rows = Execution.objects.filter(pk__in=ids).values(
        "pk", "workflow_id", "status", "created_at", "finished_at")
    return {row["workflow_id"]: {"id": row["pk"], "status": row["status"],
                                 "created_at": row["created_at"],
                                 "finished_at": row["finished_at"]} for row in rows}


def execution_snapshot(execution_id: Any) -> dict[str, Any] | None:
    """The execution's status and its node runs' statuses (no outputs), or None.

    `sequence` (of the execution, and of each node row) is the newest event of it already
    in the statuses sent: a client drops a later-arriving event at or below it. The events
    are read first: a node's events commit one after the other, so every event of a node up
    to its newest one read here has committed, and its change is in the statuses read next.
    Two dispatchers may publish batches out of order and a batch may be published twice;
    with these numbers a client applies each node's events newest-wins."""
    last_events = OutboxEvent.objects.filter(execution_id=execution_id)
    sequences = {node: last for node, last in last_events.values_list("payload__node")
                 .annotate(last=Max("id")).order_by()}
    execution = Execution.objects.filter(pk=execution_id).first()
    if execution is None:
        return None
    return {
        "id": str(execution.pk),
        "workflow": str(execution.workflow_id),
        "status": execution.status,
        "sequence": max(sequences.values(), default=0),
        "started_at": execution.started_at.isoformat() if execution.started_at else None,
        "finished_at": execution.finished_at.isoformat() if execution.finished_at else None,
        "nodes": [
            {"node": node.node_id, "iteration": node.iteration, "status": node.status,
             "attempt": node.attempt, "branch": node.branch,
             "sequence": sequences.get(node.node_id, 0)}
            for node in execution.nodes.order_by("id")
        ],
    }
