"""Advancing an execution through its graph, finishing it, failing it, cancelling it."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from executions.decide import NodeState, advance, on_failure, single_input_successors
from executions.errors import IllegalTransitionError
from executions.models import (
    EXECUTION_TERMINAL,
    NODE_OPEN,
    BookmarkStatus,
    Execution,
    ExecutionStatus,
    NodeExecution,
    NodeStatus,
)
from executions.plan import Plan, execution_plan
from executions.services.scope import template_scope
from executions.services.transitions import (
    execution_transition,
    log_entry,
    logs_write,
    nodes_dispatch,
    nodes_publish,
)
from executions.store import node_move
from workflows.nodes.faults import FatalFault, NodeFault
from workflows.templating import TemplateRenderError, render


def node_states(execution: Execution) -> dict[str, NodeState]:
    """The execution's top-level node runs by node id (tuples, not model instances: a
    join's every completion reads them all)."""
    return {node_id: NodeState(pk, node_id, status, branch)
            for pk, node_id, status, branch in execution.nodes.filter(iteration="")
            .values_list("pk", "node_id", "status", "branch")}


def execution_advance_completed(execution: Execution, plan: Plan, node_id: str, branch: str,
                                entries: list[Any]) -> None:
    """Advance, under the execution's row lock, after `node_id` completed (taking `branch`)
    in this transaction, writing its log `entries` (with their outbox events).

    The common case needs no read of the node rows: for `single_input_successors`, the
    conditional update that stamps their `dispatched_at` decides which are ready (the
    pending ones); it is sent in one statement with the log entries (`logs_write`).
    Anything else (a join, a branch not taken, the last node, no successor pending any
    more) takes the general path, `execution_advance`.
    """
    targets = single_input_successors(plan, node_id, branch)
    if targets is None:
        logs_write(entries)
    else:
        pending = NodeExecution.objects.filter(
            execution=execution, node_id__in=targets, iteration="", status=NodeStatus.PENDING)
        stamped = logs_write(entries, then_update=(pending, {"dispatched_at": timezone.now()}))
        if stamped == len(targets):
            nodes_publish(execution, plan, targets)
            return
        if stamped:  # some successor already ran (a redelivery): send only the pending ones
            nodes_publish(execution, plan, list(pending.values_list("node_id", flat=True)))
            return
    execution_advance(execution, plan, [node_id])


def execution_advance(execution: Execution, plan: Plan, done: list[str]) -> None:
    """Write and send what follows the nodes `done` (`decide.advance`): the ready
    successors are dispatched, the skipped ones recorded, and the execution finishes or
    waits when that is what is left.

    Runs under the execution's row lock, so of two predecessors of a join finishing at
    once, exactly one sees both finished. The rows are read as `NodeState`s, without
    their outputs (a finish reads those it needs).
    """
    states = node_states(execution)
    step = advance(plan, states, done)
    if step.skipped:
        node_move(NodeExecution.objects.filter(pk__in=[states[node_id].pk
                                                       for node_id in step.skipped]),
                  NodeStatus.SKIPPED, finished_at=timezone.now())
        logs_write([log_entry(execution, "node.skipped", node_id=node_id)
                    for node_id in step.skipped])
    nodes_dispatch(execution, plan, step.ready)
    if step.finished:
        execution_finish(execution, plan)
    elif step.waiting and execution.status == ExecutionStatus.RUNNING:
        execution_transition(execution, ExecutionStatus.WAITING)


def _output(execution: Execution, plan: Plan) -> Any:
    rows = {row.node_id: row for row in execution.nodes.filter(iteration="")}
    if execution.graph_path:  # a loop body: its one leaf's output, else {leaf: output}
        leaves = [rows[node_id] for node_id in plan.leaves if node_id in rows]
        if len(leaves) == 1:
            return leaves[0].output if leaves[0].status == NodeStatus.COMPLETED else None
        return {row.node_id: row.output for row in leaves if row.status == NodeStatus.COMPLETED}
    template = plan.output
    if template:
        scope = template_scope(execution, rows.values(), attempt=0)
        try:
            return render(template, scope, path="output")
        except TemplateRenderError as exc:
            raise FatalFault(f"The workflow's output template failed: {exc}") from None
    return {
        node_id: rows[node_id].output for node_id in plan.leaves
        if node_id in rows and rows[node_id].status == NodeStatus.COMPLETED
    }


def execution_finish(execution: Execution, plan: Plan) -> None:
    """Nothing is left to run: complete it, or, when compensating, go on compensating."""
    if execution.compensation is not None:
        _compensate_next(execution, plan)
        return
    try:
        output = _output(execution, plan)
    except NodeFault as fault:
        execution_fail(execution, fault.as_dict())
        return
    execution_transition(
        execution, ExecutionStatus.COMPLETED, output=output, finished_at=timezone.now()
    )


def node_failed_finally(execution: Execution, plan: Plan, node_id: str,
                        error: dict[str, Any]) -> None:
    """A node failed for good: go on (`continue`), wait for a person (`suspend`), or fail
    the execution (`fail`, the default)."""
    action = on_failure(plan, node_id)
    if action in ("continue", "suspend") and execution.status == ExecutionStatus.WAITING:
        execution_transition(execution, ExecutionStatus.RUNNING)
    if action == "continue":
        execution_advance(execution, plan, [node_id])
    elif action == "suspend":
        execution_transition(execution, ExecutionStatus.SUSPENDED,
                             error={"node": node_id, **error})
    else:
        execution_fail(execution, {"node": node_id, **error})


def _close_open_work(execution: Execution, now: Any, actor: str = "") -> int:
    """Cancel open nodes, close open waits, and cancel every descendant that is still
    going, waited on or detached; returns how many descendants it cancelled."""
    node_move(execution.nodes.filter(status__in=NODE_OPEN), NodeStatus.CANCELLED,
              finished_at=now)
    execution.bookmarks.filter(status=BookmarkStatus.OPEN).update(status=BookmarkStatus.CLOSED)
    return _descendants_cancel(execution, now, actor)


def _descendants_cancel(execution: Execution, now: Any, actor: str) -> int:
    """Cancel the execution's descendants that are not terminal, a generation at a time,
    each under its own lock (parents before children: the order every writer follows).

    Terminal children are walked through too: a finished parent may have left detached
    children (Subworkflow with `wait: false`) running. A generation's children are read
    once its members are locked, and a cancelled or finished execution starts no child,
    so none is missed."""
    cancelled = 0
    generation = [execution.pk]
    while generation:
        members = Execution.objects.select_for_update(of=("self",)).filter(
            parent_id__in=generation).order_by("pk")
        generation = []
        for child in members:
            generation.append(child.pk)
            if child.status in EXECUTION_TERMINAL:
                continue
            node_move(child.nodes.filter(status__in=NODE_OPEN), NodeStatus.CANCELLED,
                      finished_at=now)
            child.bookmarks.filter(status=BookmarkStatus.OPEN).update(
                status=BookmarkStatus.CLOSED)
            execution_transition(child, ExecutionStatus.CANCELLED, finished_at=now,
                                 actor=actor)
            cancelled += 1
    return cancelled


def execution_fail(execution: Execution, error: dict[str, Any]) -> None:
    """Fail the execution: what has not finished is cancelled, open waits are closed.

    When completed nodes name compensating nodes, those run first, one at a time, in the
    reverse order of their nodes' completion; then the execution fails with `error`. A
    failure while compensating is logged and the next compensation runs.
    """
    now = timezone.now()
    _close_open_work(execution, now)
    if execution.compensation is not None:
        _compensate_next(execution, execution_plan(execution))
        return
    plan = execution_plan(execution)
    completed = execution.nodes.filter(
        status=NodeStatus.COMPLETED, node_id__in=[
            node_id for node_id in plan.flow_nodes if plan.nodes[node_id].get("compensation")]
    ).order_by("-finished_at", "-id").values_list("node_id", flat=True)
    queue = list(dict.fromkeys(plan.nodes[node_id]["compensation"] for node_id in completed))
    if not queue:
        execution_transition(execution, ExecutionStatus.FAILED, error=error, finished_at=now)
        return
    execution.compensation = {"error": error, "queue": queue}
    Execution.objects.filter(pk=execution.pk).update(compensation=execution.compensation)
    logs_write([log_entry(execution, "execution.compensating", level="warning",
                          data={"nodes": queue})])
    _compensate_next(execution, plan)


def _compensate_next(execution: Execution, plan: Plan) -> None:
    queue = list(execution.compensation["queue"])
    if not queue:
        execution_transition(execution, ExecutionStatus.FAILED,
                             error=execution.compensation["error"], finished_at=timezone.now())
        return
    node_id = queue.pop(0)
    execution.compensation = {**execution.compensation, "queue": queue}
    Execution.objects.filter(pk=execution.pk).update(compensation=execution.compensation)
    if execution.status == ExecutionStatus.WAITING:  # it failed while waiting: nodes run again
        execution_transition(execution, ExecutionStatus.RUNNING)
    row, created = NodeExecution.objects.get_or_create(
        execution=execution, node_id=node_id, iteration="",
        defaults={"node_type": plan.node_type(node_id)})
    if not created:  # it compensated an earlier failure, before a retry: it runs afresh
        node_move(NodeExecution.objects.filter(pk=row.pk), NodeStatus.PENDING, attempt=0,
                  output=None, error=None, branch="", started_at=None, finished_at=None,
                  dispatched_at=None, lease_expires_at=None, retry_at=None)
    nodes_dispatch(execution, plan, [node_id])


def execution_cancel(*, execution: Execution, actor: Any = None) -> Execution:
    """Cancel: open nodes are cancelled, running ones have their results discarded, and
    every descendant still going is cancelled, waited on or detached.

    A finished execution whose detached descendants still run is not changed itself, but
    they are cancelled; refused only when there is nothing left to cancel."""
    who = actor.get_username() if getattr(actor, "is_authenticated", False) else ""
    with transaction.atomic():
        locked = Execution.objects.select_for_update(of=("self",)).get(pk=execution.pk)
        now = timezone.now()
        if locked.status in EXECUTION_TERMINAL:
            cancelled = _descendants_cancel(locked, now, who)
            if not cancelled:
                raise IllegalTransitionError(
                    f"The execution is already {locked.status}.",
                    details={"from": locked.status, "to": ExecutionStatus.CANCELLED},
                )
            logs_write([log_entry(locked, "execution.descendants_cancelled", actor=who,
                                  data={"cancelled": cancelled})])
            return locked
        _close_open_work(locked, now, who)
        execution_transition(locked, ExecutionStatus.CANCELLED, finished_at=now, actor=who)
    return locked
