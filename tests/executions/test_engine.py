"""The engine on real workers: sequences, joins, branches, skips, failures, idempotency."""

from __future__ import annotations

from typing import Any

import pytest

from executions import services
from executions.models import ExecutionLog, NodeExecution
from tests.engine import node_states, run, wait_for, workflow_from

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True),
              pytest.mark.usefixtures("worker")]


def transform(node_id: str, template: Any) -> dict[str, Any]:
    return {"id": node_id, "type": "Transform", "data": {"template": template}}


def workflow(name: str, nodes: list[dict], edges: list[tuple], **extra: Any) -> dict[str, Any]:
    def edge(spec: tuple) -> dict[str, Any]:
        source, target, *handle = spec
        extra = {"sourceHandle": handle[0]} if handle else {}
        return {"source": source, "target": target, **extra}

    return {"name": name, "namespace": "engine", "nodes": nodes,
            "edges": [edge(spec) for spec in edges], **extra}


def test_a_sequence_runs_in_order_and_passes_outputs():
    # given a -> b -> c, each reading its predecessor's output
    definition = workflow("sequence", [
        transform("a", {"n": "{{ input.n + 1 }}"}),
        transform("b", {"n": "{{ nodes.a.n * 10 }}"}),
        {"id": "c", "type": "Logger", "data": {"message": "n is {{ nodes.b.n }}"}},
    ], [("a", "b"), ("b", "c")])
    # when it runs with n = 1
    execution = run(definition, {"n": 1})
    # then every node completed once, in order, and the output is the leaf's
    assert execution.status == "completed", execution.error
    assert execution.output == {"c": {"logged": "n is 20"}}
    assert node_states(execution) == {"a": "completed", "b": "completed", "c": "completed"}
    completed = execution.logs.filter(event="node.completed").values_list("node_id", flat=True)
    assert list(completed) == ["a", "b", "c"]
    assert execution.logs.filter(event="node.message", node_id="c",
                                 message="n is 20").exists()


def test_a_diamond_joins_both_branches_once():
    definition = workflow("diamond", [
        transform("start", {"v": 2}),
        transform("left", {"v": "{{ nodes.start.v + 1 }}"}),
        transform("right", {"v": "{{ nodes.start.v * 5 }}"}),
        transform("join", {"sum": "{{ nodes.left.v + nodes.right.v }}"}),
    ], [("start", "left"), ("start", "right"), ("left", "join"), ("right", "join")])
    execution = run(definition)
    assert execution.status == "completed", execution.error
    assert execution.output == {"join": {"sum": 13}}
    assert execution.nodes.get(node_id="join").attempt == 1
    assert execution.logs.filter(event="node.running", node_id="join").count() == 1


def test_an_n_shaped_graph_runs_every_node_exactly_once():
    # given A->C, A->D, B->D, B->E, which has no series-parallel form
    definition = workflow("n-shape", [
        transform("a", 1), transform("b", 2),
        transform("c", "{{ nodes.a }}"),
        transform("d", "{{ nodes.a + nodes.b }}"),
        transform("e", "{{ nodes.b }}"),
    ], [("a", "c"), ("a", "d"), ("b", "d"), ("b", "e")])
    execution = run(definition)
    assert execution.status == "completed", execution.error
    assert execution.output == {"c": 1, "d": 3, "e": 2}
    for node in execution.nodes.all():
        assert node.attempt == 1, node.node_id
    assert execution.logs.filter(event="node.running").count() == 5


def fan_in(name: str, width: int) -> dict[str, Any]:
    """start -> p0..p(width-1) -> join, the join summing its inputs' outputs (0..width-1)."""
    nodes = [transform("start", 0)] + [transform(f"p{i}", i) for i in range(width)]
    nodes.append(transform("join", "{{ " + " + ".join(f"nodes.p{i}" for i in range(width)) + " }}"))
    edges = [("start", f"p{i}") for i in range(width)] + [(f"p{i}", "join") for i in range(width)]
    return workflow(name, nodes, edges)


def test_a_wide_fan_in_waits_for_every_input():
    width = 20
    execution = run(fan_in("fan-in", width))
    assert execution.status == "completed", execution.error
    assert execution.output == {"join": sum(range(width))}
    assert execution.logs.filter(event="node.running", node_id="join").count() == 1


def test_joins_of_executions_running_together_each_run_once_with_every_input():
    # given four executions of 1 -> 12 -> join started at once on the two-process worker,
    # so that inputs of one join complete at the same moment
    width = 12
    flow = workflow_from(fan_in("fan-in-together", width))
    started = [services.execution_start(workflow=flow, input={})[0] for _ in range(4)]
    # then each completes, its join ran once and saw every input's output
    for execution in started:
        execution = wait_for(execution)
        assert execution.status == "completed", execution.error
        assert execution.output == {"join": sum(range(width))}
        assert execution.logs.filter(event="node.running", node_id="join").count() == 1


def test_a_branch_skips_the_untaken_path_and_the_join_still_runs():
    # given big? -true-> approve -> notify, big? -false-> auto -> notify, and audit after approve
    definition = workflow("branch", [
        {"id": "big", "type": "Conditional", "data": {"expression": "input.total > 1000"}},
        transform("approve", "manual"),
        transform("auto", "automatic"),
        transform("audit", "{{ nodes.approve }}"),
        transform("notify", "{{ nodes.approve or nodes.auto }}"),
    ], [("big", "approve", "true"), ("big", "auto", "false"), ("approve", "audit"),
        ("approve", "notify"), ("auto", "notify")])
    # when a small order runs
    execution = run(definition, {"total": 5})
    # then the true path is skipped (and what follows only it), and the join runs once
    assert execution.status == "completed", execution.error
    assert node_states(execution) == {
        "big": "completed", "approve": "skipped", "auto": "completed",
        "audit": "skipped", "notify": "completed",
    }
    assert execution.nodes.get(node_id="big").branch == "false"
    assert execution.output == {"notify": "automatic"}


def test_cases_pick_the_first_true_case_or_default():
    definition = workflow("cases", [
        {"id": "route", "type": "Conditional", "data": {"cases": [
            {"name": "small", "expression": "input.n < 10"},
            {"name": "medium", "expression": "input.n < 100"},
        ]}},
        transform("s", "small"), transform("m", "medium"), transform("other", "large"),
    ], [("route", "s", "small"), ("route", "m", "medium"), ("route", "other", "default")])
    assert run(definition, {"n": 50}).output == {"m": "medium"}
    assert run({**definition, "name": "cases2"}, {"n": 500}).output == {"other": "large"}


def test_variables_are_visible_to_later_nodes():
    definition = workflow("vars", [
        {"id": "setvar", "type": "Variable", "data": {"set": {"greeting": "hi {{ input.who }}"}}},
        transform("use", "{{ vars.greeting }}!"),
    ], [("setvar", "use")])
    execution = run(definition, {"who": "ada"})
    assert execution.output == {"use": "hi ada!"}
    assert execution.variables == {"greeting": "hi ada"}


def test_a_validation_fault_fails_at_once_and_cancels_the_rest():
    # given a validator in fail mode before two more nodes
    definition = workflow("invalid", [
        {"id": "check", "type": "Validator", "data": {
            "value": "{{ input }}", "schema": {"type": "object", "required": ["id"]}}},
        transform("after", 1), transform("later", 2),
    ], [("check", "after"), ("after", "later")])
    execution = run(definition, {"name": "no id"})
    # then the node failed on its first attempt (validation faults are not retried)
    assert execution.status == "failed"
    check = execution.nodes.get(node_id="check")
    assert check.status == "failed" and check.attempt == 1
    assert check.error["fault"] == "validation"
    assert execution.error["node"] == "check"
    assert node_states(execution)["after"] == "cancelled"


def test_on_failure_continue_records_and_goes_on():
    definition = workflow("continue", [
        {"id": "check", "type": "Validator", "data": {
            "value": "{{ input }}", "schema": {"required": ["id"]}}},
        transform("after", "went on"),
    ], [("check", "after")], settings={"on_failure": "continue"})
    execution = run(definition, {})
    assert execution.status == "completed", execution.error
    assert node_states(execution) == {"check": "failed", "after": "completed"}


def test_validator_branch_mode_takes_a_handle():
    definition = workflow("validate-branch", [
        {"id": "check", "type": "Validator", "data": {
            "value": "{{ input }}", "schema": {"required": ["id"]}, "mode": "branch"}},
        transform("ok", "valid"), transform("bad", "invalid"),
    ], [("check", "ok", "valid"), ("check", "bad", "invalid")])
    execution = run(definition, {})
    assert execution.output == {"bad": "invalid"}
    assert node_states(execution)["ok"] == "skipped"


def test_a_sandbox_escape_fails_the_node_and_never_runs_python():
    definition = workflow("escape", [
        transform("evil", "{{ ''.__class__.__mro__[1].__subclasses__() }}"),
    ], [])
    execution = run(definition)
    assert execution.status == "failed"
    error = execution.nodes.get(node_id="evil").error
    assert error["fault"] == "validation" and "unsafe" in error["message"]


def test_a_template_naming_a_missing_value_fails_the_node_with_its_path():
    definition = workflow("missing", [transform("use", "{{ input.order }}")], [])
    execution = run(definition, {})
    assert execution.status == "failed"
    error = execution.nodes.get(node_id="use").error
    assert error["fault"] == "validation"
    assert "data.template" in error["message"] and "input.order is not set" in error["message"]


@pytest.mark.usefixtures("test_node_types")
@pytest.mark.parametrize("kind", ["set", "nan", "nul"])
def test_an_output_json_cannot_hold_fails_the_node_instead_of_leaving_it_running(kind):
    definition = workflow(f"not-json-{kind}", [
        {"id": "odd", "type": "NotJson", "data": {"kind": kind}}, transform("after", 1),
    ], [("odd", "after")])
    execution = run(definition)
    assert execution.status == "failed"
    odd = execution.nodes.get(node_id="odd")
    assert odd.status == "failed" and odd.error["fault"] == "fatal"
    assert "not JSON" in odd.error["message"]
    assert node_states(execution)["after"] == "cancelled"


def test_a_redelivered_node_task_records_nothing_twice():
    # given a completed execution
    execution = run(workflow("redelivery", [transform("a", 1), transform("b", 2)],
                             [("a", "b")]))
    logs_before = ExecutionLog.objects.filter(execution=execution).count()
    # when the task of an already completed node is delivered again
    assert services.node_run(execution_id=str(execution.pk), node_id="a") is None
    # then no second completion, attempt or log line appears
    node = NodeExecution.objects.get(execution=execution, node_id="a")
    assert node.status == "completed" and node.attempt == 1
    assert ExecutionLog.objects.filter(execution=execution).count() == logs_before


def test_the_same_idempotency_key_starts_one_execution():
    flow = workflow_from(workflow("idempotent", [transform("a", 1)], []))
    first, created = services.execution_start(workflow=flow, input={}, idempotency_key="k-1")
    second, created_again = services.execution_start(workflow=flow, input={},
                                                     idempotency_key="k-1")
    assert created and not created_again and first.pk == second.pk
    assert wait_for(first).status == "completed"


def test_cancel_stops_what_has_not_run():
    # given a run that is cancelled before its second node
    flow = workflow_from(workflow("cancel", [
        {"id": "check", "type": "Validator", "data": {"value": 1, "schema": {}}},
        transform("after", 1),
    ], [("check", "after")]))
    execution, _ = services.execution_start(workflow=flow, input={})
    services.execution_cancel(execution=execution)
    execution = wait_for(execution)
    assert execution.status == "cancelled"
    assert set(node_states(execution).values()) <= {"cancelled", "completed"}
    assert node_states(execution)["after"] == "cancelled"
