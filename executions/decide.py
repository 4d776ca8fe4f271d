"""Decide: what an execution does next, as pure functions of its plan and its node states.

Nothing here reads or writes the database, publishes or imports a service: the services
read the states (executions/services/flow.py), ask these functions, then write what they
answer (executions/store.py) and send what became ready (executions/dispatch.py). The
rules are the contract's (section 2): a node runs once every input has finished
(completed or skipped) and one incoming edge is active; with none active it is skipped,
and skipping propagates; a failed node that goes on (`on_failure: continue`) counts as
finished and feeds its plain edges only. tests/executions/test_decide.py checks them over
random graphs without a database.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from executions.models import NODE_FINISHED, NODE_IN_FLIGHT, NODE_OPEN, NodeStatus
from executions.plan import Edge, Plan, edge_active


@dataclass(slots=True)
class NodeState:
    """What deciding reads of a node run: no output, no error, no times."""

    pk: int
    node_id: str
    status: str
    branch: str


@dataclass(frozen=True, slots=True)
class Step:
    """What follows: the nodes now ready to run, the nodes skipped on the way (in the
    order they were skipped), whether nothing is left open (the execution finishes, or
    compensates), and whether everything left open only waits (the execution waits)."""

    ready: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()
    finished: bool = False
    waiting: bool = False


def on_failure(plan: Plan, node_id: str) -> str:
    """What a node's final failure does: `fail` the execution (the default), `continue`
    past it, or `suspend` the execution until a person resumes it."""
    return plan.nodes[node_id].get("on_failure") or plan.settings.get("on_failure", "fail")


def finished(state: NodeState, plan: Plan) -> bool:
    """Its successors may decide on it: it completed or was skipped, or it failed and
    goes on."""
    if state.status in NODE_FINISHED:
        return True
    return state.status == NodeStatus.FAILED and on_failure(plan, state.node_id) == "continue"


def feeds(edge: Edge, source: NodeState) -> bool:
    """The edge is active: its source completed (taking the edge's branch, for a branch
    handle), or failed and goes on (plain edges only)."""
    if source.status == NodeStatus.FAILED:
        return edge.handle is None
    return edge_active(edge, source.status, source.branch)


def halted(plan: Plan, states: Mapping[str, NodeState]) -> list[str]:
    """The nodes of the normal flow that failed and do not go on: while one is left, the
    execution cannot advance past it (it fails, or is suspended)."""
    return [node_id for node_id in plan.flow_nodes
            if node_id in states and states[node_id].status == NodeStatus.FAILED
            and on_failure(plan, node_id) != "continue"]


def single_input_successors(plan: Plan, node_id: str, branch: str) -> list[str] | None:
    """The successors of a node that completed taking `branch`, when each has that node
    as its only input and its edge is active (a chain, a fan-out): each is then ready
    exactly when it is still pending. None otherwise (no successor, a join, a branch not
    taken), which needs `advance`."""
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
    if any(on_failure(plan, edge.source) == "continue" for edge in incoming):
        return None
    return join


def advance(plan: Plan, states: Mapping[str, NodeState], done: Iterable[str]) -> Step:
    """What follows the nodes `done` (just finished, or failed and going on): their
    successors whose inputs have all finished are ready when one input edge is active and
    skipped otherwise, a skip deciding its own successors in turn. `states` are the
    execution's top-level node runs before this step; it is not changed."""
    status = {node_id: state.status for node_id, state in states.items()}
    ready: list[str] = []
    skipped: list[str] = []
    queue = list(done)

    def now(node_id: str) -> NodeState:
        state = states[node_id]
        return NodeState(state.pk, node_id, status[node_id], state.branch)

    while queue:
        source = queue.pop()
        for edge in plan.outgoing[source]:
            target = edge.target
            if status[target] != NodeStatus.PENDING or target in ready:
                continue
            incoming = plan.incoming[target]
            if not all(finished(now(e.source), plan) for e in incoming):
                continue
            if any(feeds(e, now(e.source)) for e in incoming):
                ready.append(target)
                continue
            status[target] = NodeStatus.SKIPPED
            skipped.append(target)
            queue.append(target)
    if ready:
        return Step(ready=tuple(ready), skipped=tuple(skipped))
    if not any(value in NODE_OPEN for value in status.values()):
        return Step(skipped=tuple(skipped), finished=True)
    return Step(skipped=tuple(skipped), waiting=_only_waits(plan, status))


def _only_waits(plan: Plan, status: Mapping[str, str]) -> bool:
    """Nothing runs or is queued: every open node waits on a bookmark, or comes after a
    node that has not finished."""
    for node_id, value in status.items():
        if value in NODE_IN_FLIGHT:
            return False
        if value == NodeStatus.PENDING and all(
            status[edge.source] in NODE_FINISHED
            or (status[edge.source] == NodeStatus.FAILED
                and on_failure(plan, edge.source) == "continue")
            for edge in plan.incoming[node_id]
        ):
            return False  # dispatched, not yet claimed
    return True
