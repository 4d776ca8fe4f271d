"""Loops and subworkflows: child executions on real workers, reporting back to the parent."""

from __future__ import annotations

import pytest

from executions import services
from executions.models import Execution
from tests.engine import node_states, run, wait_for, workflow_from

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True),
              pytest.mark.usefixtures("worker", "test_node_types")]


def transform(node_id: str, template) -> dict:
    return {"id": node_id, "type": "Transform", "data": {"template": template}}


def flow(name: str, nodes: list[dict], edges: list[tuple] = (), **extra) -> dict:
    return {"name": name, "namespace": "children", "nodes": nodes,
            "edges": [{"source": s, "target": t} for s, t in edges], **extra}


def loop(concurrency: int, body: dict, items: str = "input.numbers") -> dict:
    return {"id": "each", "type": "Loop",
            "data": {"items": items, "concurrency": concurrency, "body": body}}


INLINE_BODY = {
    "nodes": [transform("square", {"n": "{{ item * item }}", "at": "{{ index }}"}),
              transform("label", "{{ nodes.square.at }}:{{ nodes.square.n }}")],
    "edges": [{"source": "square", "target": "label"}],
}


@pytest.mark.parametrize("concurrency", [1, 3])
def test_a_loop_runs_its_body_per_item_and_keeps_item_order(concurrency):
    # given a loop over five numbers, in order or three at a time
    definition = flow(f"loop-{concurrency}", [
        loop(concurrency, INLINE_BODY), transform("after", "{{ nodes.each | join(',') }}"),
    ], [("each", "after")])
    # when it runs
    execution = run(definition, {"numbers": [1, 2, 3, 4, 5]})
    # then every item ran once and the outputs come back in item order
    assert execution.status == "completed", execution.error
    assert execution.nodes.get(node_id="each").output == ["0:1", "1:4", "2:9", "3:16", "4:25"]
    assert execution.output == {"after": "0:1,1:4,2:9,3:16,4:25"}
    children = Execution.objects.filter(parent=execution)
    assert children.count() == 5
    assert sorted(children.values_list("item_index", flat=True)) == [0, 1, 2, 3, 4]
    assert set(children.values_list("status", flat=True)) == {"completed"}


def test_a_sequential_loop_runs_one_item_at_a_time():
    execution = run(flow("sequential", [loop(1, {"nodes": [
        {"id": "nap", "type": "Sleep", "data": {"seconds": 0.2}}]})]), {"numbers": [1, 2, 3]})
    assert execution.status == "completed"
    children = list(Execution.objects.filter(parent=execution).order_by("item_index"))
    for earlier, later in zip(children, children[1:], strict=False):
        assert later.started_at >= earlier.finished_at


def test_an_empty_list_gives_an_empty_output_without_children():
    execution = run(flow("empty", [loop(2, INLINE_BODY)]), {"numbers": []})
    assert execution.output == {"each": []}
    assert not Execution.objects.filter(parent=execution).exists()


def test_a_failing_iteration_fails_the_loop():
    body = {"nodes": [{"id": "check", "type": "Validator", "data": {
        "value": "{{ item }}", "schema": {"type": "integer", "maximum": 2}}}]}
    execution = run(flow("loop-fails", [loop(1, body)]), {"numbers": [1, 2, 3, 4]})
    assert execution.status == "failed"
    assert execution.nodes.get(node_id="each").error["fault"] == "external"
    statuses = dict(Execution.objects.filter(parent=execution).values_list(
        "item_index", "status"))
    assert statuses[2] == "failed" and 3 not in statuses  # the fourth item never started


def test_items_that_are_not_a_list_fail_the_node():
    execution = run(flow("not-a-list", [loop(1, INLINE_BODY, items="input.numbers")]),
                    {"numbers": 5})
    assert execution.status == "failed"
    assert execution.nodes.get(node_id="each").error["fault"] == "validation"


def test_a_loop_body_can_be_another_workflow():
    workflow_from(flow("double", [transform("twice", "{{ item * 2 }}")]))
    execution = run(flow("loop-workflow", [loop(2, {"workflow": "double"})]),
                    {"numbers": [5, 6]})
    assert execution.status == "completed", execution.error
    assert execution.output == {"each": [{"twice": 10}, {"twice": 12}]}


def test_a_subworkflow_runs_as_a_child_and_the_parent_waits_for_its_output():
    workflow_from(flow("child", [transform("reply", "hello {{ input.who }}")]))
    execution = run(flow("parent", [
        {"id": "call", "type": "Subworkflow",
         "data": {"workflow": "children/child", "input": {"who": "{{ input.name }}"}}},
        transform("after", "{{ nodes.call.reply }}!"),
    ], [("call", "after")]), {"name": "ada"})
    assert execution.status == "completed", execution.error
    assert execution.output == {"after": "hello ada!"}
    child = Execution.objects.get(parent=execution)
    assert child.trigger == "subworkflow" and child.input == {"who": "ada"}


def test_a_subworkflow_without_wait_goes_on_at_once():
    workflow_from(flow("slow-child", [{"id": "nap", "type": "Sleep", "data": {"seconds": 1}}]))
    execution = run(flow("fire-and-forget", [
        {"id": "call", "type": "Subworkflow", "data": {"workflow": "slow-child", "wait": False}},
    ]))
    assert execution.status == "completed"
    child = Execution.objects.get(parent=execution)
    assert execution.output == {"call": {"execution_id": str(child.pk)}}
    assert wait_for(child).status == "completed"


def test_an_unknown_subworkflow_fails_the_node_by_name():
    execution = run(flow("missing-child", [
        {"id": "call", "type": "Subworkflow", "data": {"workflow": "nope"}}]))
    assert execution.status == "failed"
    assert "children/nope" in execution.nodes.get(node_id="call").error["message"]


def test_cancelling_the_parent_cancels_its_children():
    workflow_from(flow("waiting-child", [{"id": "ask", "type": "UserAction",
                                          "data": {"assignee": "x", "prompt": "?"}}]))
    parent, _ = services.execution_start(workflow=workflow_from(flow("cancel-parent", [
        {"id": "call", "type": "Subworkflow", "data": {"workflow": "waiting-child"}}])),
        input={})
    parent = wait_for(parent, statuses=("waiting",))
    child = Execution.objects.get(parent=parent)
    wait_for(child, statuses=("waiting",))
    services.execution_cancel(execution=parent)
    assert wait_for(child).status == "cancelled"
    assert node_states(wait_for(parent)) == {"call": "cancelled"}
