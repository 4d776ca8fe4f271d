"""Advancing an execution through its graph, finishing it, failing it, cancelling it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from executions.errors import IllegalTransitionError
from executions.models import (
    EXECUTION_TERMINAL,
    NODE_FINISHED,
    NODE_IN_FLIGHT,
    NODE_OPEN,
    BookmarkStatus,
    Execution,
    ExecutionStatus,
    NodeExecution,
    NodeStatus,
)
from executions.plan import Plan, edge_active, execution_plan
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


@dataclass(slots=True)
class NodeState:
    """What deciding the next step reads of a node run: no output, no error, no times."""

    pk: int
    node_id: str
    status: str
    branch: str


def node_states(execution: Execution) -> dict[str, NodeState]:
    """The execution's top-level node runs by node id (tuples, not model instances: a
    join's every completion reads them all)."""
    return {node_id: NodeState(pk, node_id, status, branch)
            for pk, node_id, status, branch in execution.nodes.filter(iteration="")
            .values_list("pk", "node_id", "status", "branch")}


def _finished(row: NodeState, plan: Plan) -> bool:
    if row.status in NODE_FINISHED:
        return True
    node = plan.nodes[row.node_id]
    continues = (node.get("on_failure") or plan.settings.get("on_failure", "fail")) == "continue"
    return row.status == NodeStatus.FAILED and continues


def _active(edge: Any, row: NodeState) -> bool:
    if row.status == NodeStatus.FAILED:  # a failed node that continues feeds plain edges
        return edge.handle is None
    return edge_active(edge, row.status, row.branch)


def single_input_successors(plan: Plan, node_id: str, branch: str) -> list[str] | None:
    """The successors of a node that completed taking `branch`, when each has that node
    as its only input and its edge is active (a chain, a fan-out): each is then ready
    exactly when it is still pending. None otherwise (no successor, a join, a branch not
    taken), which needs the general path."""
    edges = plan.outgoing[node_id]
    if not edges or not all(
        len(plan.incoming[edge.target]) == 1 and edge_active(edge, NodeStatus.COMPLETED, branch)
        for edge in edges
    ):
        return None
    return [edge.target for edge in edges]


def plain_join(plan: Plan, node_id: str, branch: str) -> str | None:
    """The one successor of a node that completed taking `branch`, when that successor is
    a join (two inputs or more) whose incoming edges are all plain (no branch handle)
    and none of whose inputs goes on after failing (`on_failure: continue`). Such a join
    is ready exactly when every input has completed or was skipped (this one completed,
    so one edge is active); nothing else about it needs the other node rows. None
    otherwise."""
    edges = plan.outgoing[node_id]
    if len(edges) != 1 or not edge_active(edges[0], NodeStatus.COMPLETED, branch):
        return None
    join = edges[0].target
    incoming = plan.incoming[join]
    if len(incoming) < 2 or any(edge.handle is not None for edge in incoming):
        return None
    default = plan.settings.get("on_failure", "fail")
    if any((plan.nodes[edge.source].get("on_failure") or default) == "continue"
           for edge in incoming):
        return None
    return join


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


def execution_advance(execution: Execution, plan: Plan, finished: list[str]) -> None:
    """Dispatch the successors whose inputs are all finished; skip those with none active.

    Runs under the execution's row lock, so of two predecessors of a join finishing at
    once, exactly one sees both finished. The rows are read as `NodeState`s, without
    their outputs (a finish reads those it needs).
    """
    rows = node_states(execution)
    ready: list[str] = []
    queue = list(finished)
    skipped_logs = []
    while queue:
        source = queue.pop()
        for edge in plan.outgoing[source]:
            target = rows[edge.target]
            if target.status != NodeStatus.PENDING or edge.target in ready:
                continue
            incoming = plan.incoming[edge.target]
            if not all(_finished(rows[e.source], plan) for e in incoming):
                continue
            if any(_active(e, rows[e.source]) for e in incoming):
                ready.append(edge.target)
                continue
            node_move(NodeExecution.objects.filter(pk=target.pk, status=NodeStatus.PENDING),
                      NodeStatus.SKIPPED, finished_at=timezone.now())
            target.status = NodeStatus.SKIPPED
            skipped_logs.append(log_entry(execution, "node.skipped", node_id=edge.target))
            queue.append(edge.target)
    logs_write(skipped_logs)
    nodes_dispatch(execution, plan, ready)
    if ready:
        return
    if not any(row.status in NODE_OPEN for row in rows.values()):
        execution_finish(execution, plan)
    elif execution.status == ExecutionStatus.RUNNING and _only_waits(rows, plan):
        execution_transition(execution, ExecutionStatus.WAITING)


def _only_waits(rows: dict[str, NodeState], plan: Plan) -> bool:
    """Nothing runs or is queued: every open node waits on a bookmark or on a waiting node."""
    for row in rows.values():
        if row.status in NODE_IN_FLIGHT:
            return False
        if row.status == NodeStatus.PENDING and all(
            _finished(rows[edge.source], plan) for edge in plan.incoming[row.node_id]
        ):
            return False  # dispatched, not yet claimed
    return True


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
    node = plan.nodes[node_id]
    on_failure = node.get("on_failure") or plan.settings.get("on_failure", "fail")
    if on_failure in ("continue", "suspend") and execution.status == ExecutionStatus.WAITING:
        execution_transition(execution, ExecutionStatus.RUNNING)
    if on_failure == "continue":
        execution_advance(execution, plan, [node_id])
    elif on_failure == "suspend":
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
    NodeExecution.objects.get_or_create(execution=execution, node_id=node_id, iteration="",
                                        defaults={"node_type": plan.node_type(node_id)})
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
