"""An operator's control of an execution: pause, resume, retry (also from a chosen node)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from config.errors import ApplicationError
from executions.decide import halted
from executions.errors import IllegalTransitionError
from executions.models import (
    EXECUTION_HELD,
    NODE_SETTLED,
    Bookmark,
    BookmarkStatus,
    Execution,
    ExecutionStatus,
    NodeExecution,
    NodeStatus,
)
from executions.plan import Plan, execution_plan
from executions.services.dependents import dependents_settle_locked
from executions.services.flow import execution_advance, node_failed_finally, node_states
from executions.services.transitions import (
    execution_deadline,
    execution_transition,
    log_entry,
    logs_write,
    nodes_dispatch,
)
from executions.services.waits import due_waits_send
from executions.store import node_move


def _who(actor: Any) -> str:
    return actor.get_username() if getattr(actor, "is_authenticated", False) else ""


def _locked(execution: Execution) -> Execution:
    return Execution.objects.select_for_update(of=("self",)).select_related(
        "version", "workflow").get(pk=execution.pk)


def _reevaluate(execution: Execution, plan: Plan) -> None:
    """Go on from the current state: send what is ready, skip what cannot run, settle.

    A node that failed for good while the execution was paused (its attempt was already
    running) is acted on now, as it would have been then: the execution fails, or is
    suspended (`decide.halted`)."""
    states = node_states(execution)
    stopped = halted(plan, states)
    if stopped:
        error = execution.nodes.get(node_id=stopped[0], iteration="").error or {}
        node_failed_finally(execution, plan, stopped[0], error)
        return
    finished = [node_id for node_id, state in states.items() if state.status in NODE_SETTLED]
    ready = [node_id for node_id, state in states.items()
             if (state.status == NodeStatus.PENDING and not plan.incoming[node_id])
             or state.status == NodeStatus.RETRYING]
    nodes_dispatch(execution, plan, ready)
    execution_advance(execution, plan, finished)


def execution_pause(*, execution: Execution, actor: Any = None) -> Execution:
    """Pause: nothing new starts; running nodes finish, their successors wait for resume."""
    with transaction.atomic():
        locked = _locked(execution)
        execution_transition(locked, ExecutionStatus.PAUSED, actor=_who(actor))
    return locked


def execution_resume(*, execution: Execution, actor: Any = None) -> Execution:
    """Resume a paused or suspended execution from where it stopped.

    A suspended execution's failed nodes run again (with a fresh attempt budget): the
    person who resumes it has fixed what made them fail.
    """
    with transaction.atomic():
        locked = _locked(execution)
        if locked.status not in EXECUTION_HELD:
            raise IllegalTransitionError(
                f"Only a paused or suspended execution resumes; this one is {locked.status}.",
                details={"from": locked.status, "to": ExecutionStatus.RUNNING},
            )
        if locked.status == ExecutionStatus.SUSPENDED:
            node_move(locked.nodes.filter(status=NodeStatus.FAILED,
                                          node_id__in=execution_plan(locked).flow_nodes),
                      NodeStatus.PENDING, attempt=0, error=None, started_at=None,
                      finished_at=None, dispatched_at=None, lease_expires_at=None,
                      retry_at=None)
        execution_transition(locked, ExecutionStatus.RUNNING, actor=_who(actor), error=None)
        _reevaluate(locked, execution_plan(locked))
        due_waits_send(execution=locked)
    return locked


def _descendants(plan: Plan, start: str) -> set[str]:
    seen, stack = {start}, [start]
    while stack:
        for edge in plan.outgoing[stack.pop()]:
            if edge.target not in seen:
                seen.add(edge.target)
                stack.append(edge.target)
    return seen


def execution_retry(*, execution: Execution, actor: Any = None,
                    from_node: str | None = None) -> Execution:
    """Run a failed execution again: failed and never-run nodes rerun, completed outputs stay.

    With `from_node`, that node and everything after it run again too, completed or not.
    """
    with transaction.atomic():
        locked = _locked(execution)
        if locked.status != ExecutionStatus.FAILED:
            raise IllegalTransitionError(
                f"Only a failed execution is retried; this one is {locked.status}.",
                details={"from": locked.status, "to": ExecutionStatus.RUNNING},
            )
        # a failure its dependents have not heard of yet is told before the run goes on
        dependents_settle_locked(locked)
        plan = execution_plan(locked)
        if from_node is not None and from_node not in plan.nodes:
            raise ApplicationError(
                f"There is no node '{from_node}' in this version.",
                details={"fields": {"from_node": [f"Unknown node '{from_node}'."]}},
            )
        again = locked.nodes.filter(status__in=(NodeStatus.FAILED, NodeStatus.CANCELLED),
                                    node_id__in=plan.flow_nodes)
        if from_node is not None:
            again = again | locked.nodes.filter(node_id__in=_descendants(plan, from_node))
        rerun = list(again.values_list("node_id", flat=True).distinct())
        node_move(NodeExecution.objects.filter(execution=locked, node_id__in=rerun),
                  NodeStatus.PENDING, attempt=0, output=None, error=None, branch="",
                  started_at=None, finished_at=None, dispatched_at=None,
                  lease_expires_at=None, retry_at=None)
        Bookmark.objects.filter(execution=locked, node_id__in=rerun,
                                status=BookmarkStatus.OPEN).update(status=BookmarkStatus.CLOSED)
        now = timezone.now()
        logs_write([log_entry(locked, "execution.retry", actor=_who(actor),
                  data={"nodes": sorted(rerun), "from_node": from_node})])
        execution_transition(
            locked, ExecutionStatus.RUNNING, actor=_who(actor), error=None, finished_at=None,
            compensation=None,
            deadline=execution_deadline(locked, plan, now),
        )
        _reevaluate(locked, plan)
    return locked
