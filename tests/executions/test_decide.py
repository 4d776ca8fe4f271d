"""What runs next, decided without a database: `executions.decide` over random graphs.

Each example builds a random DAG (branching nodes with handles, joins, nodes that go on
after failing, nodes that wait) and plays an execution through it the way the engine
does: a dispatched node is claimed, then completes (taking a random branch), fails or
waits; a wait later resumes. After every step `advance` decides, and the test checks what
a user would see: every node ends exactly once, no node is dispatched twice (a join fires
once), a node runs exactly when one of its incoming edges is active and is skipped
otherwise (contract, section 2), the execution finishes once, at the end, and it is said
to wait exactly when nothing runs or is queued.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from executions.decide import NodeState, advance, halted, plain_join, single_input_successors
from executions.models import NODE_OPEN, NodeStatus
from executions.plan import Plan, plan_build

HANDLES = ("yes", "no")


@st.composite
def graphs(draw) -> Plan:
    """A random valid definition's plan: nodes n0..nk, edges only forward (acyclic);
    some nodes branch (their out-edges carry a handle or none), some go on after a
    failure."""
    count = draw(st.integers(min_value=1, max_value=9))
    nodes, edges = [], []
    for index in range(count):
        node = {"id": f"n{index}", "type": "Branch" if draw(st.booleans()) else "Transform",
                "data": {}}
        if draw(st.booleans()):
            node["on_failure"] = "continue"
        nodes.append(node)
    for target in range(1, count):
        for source in range(target):
            if draw(st.integers(0, 2)) == 0:
                edge = {"source": f"n{source}", "target": f"n{target}"}
                if nodes[source]["type"] == "Branch":
                    handle = draw(st.sampled_from((None, *HANDLES)))
                    if handle:
                        edge["sourceHandle"] = handle
                edges.append(edge)
    return plan_build({"nodes": nodes, "edges": edges})


def active(plan: Plan, final: dict[str, NodeState], node_id: str) -> bool:
    """The contract's rule, written out again independently of `decide`: an incoming
    edge is active when its source completed and took its handle (or it has none), or
    its source failed and goes on and the edge is plain."""
    for edge in plan.incoming[node_id]:
        source = final[edge.source]
        if source.status == NodeStatus.COMPLETED and edge.handle in (None, source.branch):
            return True
        if source.status == NodeStatus.FAILED and edge.handle is None:
            return True
    return False


@settings(max_examples=300, deadline=None)
@given(plan=graphs(), choices=st.randoms(use_true_random=False))
def test_every_node_ends_once_joins_fire_once_and_skips_follow_the_contract(plan, choices):
    states = {node_id: NodeState(index, node_id, NodeStatus.PENDING, "")
              for index, node_id in enumerate(plan.nodes)}
    dispatched: list[str] = list(plan.roots)  # the start dispatches the roots
    queued = set(plan.roots)  # dispatched, not yet claimed
    running: set[str] = set()
    waiting: set[str] = set()
    ended: list[str] = []
    finishes = 0
    halted_at = None

    def decide(done: list[str]) -> None:
        nonlocal finishes
        step = advance(plan, states, done)
        for node_id in step.skipped:
            assert states[node_id].status == NodeStatus.PENDING
            states[node_id].status = NodeStatus.SKIPPED
            ended.append(node_id)
        for node_id in step.ready:
            assert states[node_id].status == NodeStatus.PENDING and node_id not in dispatched
            dispatched.append(node_id)
            queued.add(node_id)
        assert not (step.ready and step.finished)
        open_left = any(state.status in NODE_OPEN for state in states.values())
        assert step.finished == (not open_left and not step.ready)
        finishes += step.finished
        # it waits exactly when something is open and nothing runs or is queued
        assert step.waiting == (open_left and not step.ready and not running and not queued)

    while (queued or running or waiting) and halted_at is None:
        pick = choices.choice(sorted(queued | running | waiting))
        state = states[pick]
        if pick in queued:  # claimed
            queued.discard(pick)
            running.add(pick)
            state.status = NodeStatus.RUNNING
            continue
        if pick in running and choices.random() < 0.2:  # it waits on a bookmark
            running.discard(pick)
            waiting.add(pick)
            state.status = NodeStatus.WAITING
            decide([])
            continue
        running.discard(pick)
        waiting.discard(pick)
        ended.append(pick)
        if choices.random() < 0.25:  # fails for good
            state.status = NodeStatus.FAILED
            if halted(plan, states) == [pick]:
                halted_at = pick  # the execution fails here: nothing more is decided
                break
            decide([pick])
            continue
        state.status = NodeStatus.COMPLETED
        # a branching node takes a branch, which may have no edge
        state.branch = (choices.choice(HANDLES) if plan.node_type(pick) == "Branch" else "")
        decide([pick])

    assert len(ended) == len(set(ended)), "a node ended twice"
    assert len(dispatched) == len(set(dispatched)), "a node was dispatched twice"
    if halted_at is not None:
        assert states[halted_at].status == NodeStatus.FAILED
        assert plan.nodes[halted_at].get("on_failure") != "continue"
        return
    assert finishes == 1, "the execution finished other than once"
    assert sorted(ended) == sorted(plan.nodes), "a node did not end"
    for node_id, state in states.items():
        ran = state.status in (NodeStatus.COMPLETED, NodeStatus.FAILED)
        if not plan.incoming[node_id]:
            assert ran, f"root {node_id} did not run"
        else:
            assert ran == active(plan, states, node_id), f"{node_id}: ran={ran}"


@settings(max_examples=200, deadline=None)
@given(plan=graphs(), branch=st.sampled_from(("", *HANDLES)))
def test_the_shortcuts_agree_with_advance(plan, branch):
    """The hot path's shortcuts (a chain or fan-out, a plain join) make ready exactly
    what `advance` would, for a node completing while everything else is pending, or
    (for the join) with every other input completed."""
    for node_id in plan.nodes:
        states = {other: NodeState(index, other, NodeStatus.PENDING, "")
                  for index, other in enumerate(plan.nodes)}
        states[node_id].status, states[node_id].branch = NodeStatus.COMPLETED, branch
        targets = single_input_successors(plan, node_id, branch)
        if targets is not None:
            assert sorted(advance(plan, states, [node_id]).ready) == sorted(targets)
        join = plain_join(plan, node_id, branch)
        if join is not None:
            for edge in plan.incoming[join]:
                states[edge.source].status = NodeStatus.COMPLETED
            assert advance(plan, states, [node_id]).ready == (join,)


def test_a_failed_node_halts_the_run_unless_it_goes_on():
    plan = plan_build({"nodes": [
        {"id": "a", "type": "Transform", "data": {}},
        {"id": "b", "type": "Transform", "data": {}, "on_failure": "continue"},
        {"id": "c", "type": "Transform", "data": {}},
    ], "edges": [{"source": "a", "target": "c"}, {"source": "b", "target": "c"}]})
    states = {node_id: NodeState(0, node_id, NodeStatus.FAILED, "") for node_id in "ab"}
    states["c"] = NodeState(0, "c", NodeStatus.PENDING, "")
    assert halted(plan, states) == ["a"]
    states["a"].status = NodeStatus.COMPLETED
    assert halted(plan, states) == []
    # b failed and goes on: c runs on its plain edge
    assert advance(plan, states, ["b"]).ready == ("c",)
