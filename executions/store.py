"""Write: the engine's statements on node runs, each guarded by the statuses' table.

`node_move` is the one way a node run's status changes through the ORM: the caller's
queryset says which rows (and what they must hold, such as an attempt number), and the
move adds that each row is in a status NODE_TRANSITIONS lets move to the target, so a
move the table does not allow changes nothing. The hot path's compound statements (the
claim and the fenced completion in executions/services/nodes.py) spell the same sources
in SQL.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef, QuerySet

from executions.models import NODE_TRANSITIONS, ExecutionStatus, NodeExecution, node_sources
from workflows.models import DependencyCondition, Workflow, WorkflowDependency


def node_move(rows: QuerySet[NodeExecution], to: str, **fields: Any) -> int:
    """Move `rows` that may go to `to` there, setting `fields` with it; how many moved."""
    sources = node_sources(to)
    # every status may go back to pending: no condition to add then
    if len(sources) < len(NODE_TRANSITIONS):
        rows = rows.filter(status__in=sources)
    return rows.update(status=to, **fields)


# The terminal statuses of an upstream execution each dependency condition accepts. A
# timed-out run ends as `failed` (there is no separate status), so `failed` covers timeouts.
CONDITION_STATUSES: dict[str, frozenset[str]] = {
    DependencyCondition.COMPLETED: frozenset({ExecutionStatus.COMPLETED}),
    DependencyCondition.FAILED: frozenset({ExecutionStatus.FAILED}),
    DependencyCondition.FINISHED: frozenset({ExecutionStatus.COMPLETED, ExecutionStatus.FAILED,
                                             ExecutionStatus.CANCELLED}),
}


def dependency_conditions(status: str) -> list[str]:
    """The dependency conditions an upstream run ending in `status` meets."""
    return [condition for condition, statuses in CONDITION_STATUSES.items()
            if status in statuses]


def dependents_of(workflow_id: Any, status: str) -> QuerySet[WorkflowDependency]:
    """The dependency rows a run of this workflow ending in `status` satisfies (upstreams
    are held by namespace and name)."""
    upstream = Workflow.objects.filter(pk=workflow_id, namespace=OuterRef("upstream_namespace"),
                                       name=OuterRef("upstream_name"))
    return WorkflowDependency.objects.filter(Exists(upstream),
                                             condition__in=dependency_conditions(status))
