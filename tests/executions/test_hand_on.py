"""Handing on: a node task runs the pure successor its node alone made ready, in the same
task, each node still its own claimed and committed step. The engine is stepped in this
process (`Messages`), the task's `HandOn` given as the task would give it."""

from __future__ import annotations

import time
from unittest import mock

import pytest

from executions import dispatch, services
from executions.services.nodes import HandOn
from tests.engine import Messages, workflow_from
from workflows.nodes.faults import TransientFault
from workflows.nodes.registry import default_registry

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("test_node_types")]

LIMIT = 300.0  # the task's soft time limit: the default node timeout


def hand_on(steps: int = 8) -> HandOn:
    return HandOn(steps=steps, until=time.monotonic() + 60, limit=LIMIT)


def transform(node_id: str, **fields) -> dict:
    return {"id": node_id, "type": "Transform", "data": {"template": node_id}, **fields}


def started(definition: dict, messages: Messages):
    execution, _ = messages.step(lambda: services.execution_start(
        workflow=workflow_from(definition), input={}))
    return execution


def first(messages: Messages, execution, node_id: str, budget: HandOn) -> None:
    messages.sent.clear()
    messages.step(lambda: services.node_run(execution_id=str(execution.pk), node_id=node_id,
                                            hand_on=budget))


def chain(name: str, *nodes: dict) -> dict:
    return {"name": name, "namespace": "hand-on", "nodes": list(nodes),
            "edges": [{"source": a["id"], "target": b["id"]}
                      for a, b in zip(nodes, nodes[1:], strict=False)]}


def test_a_chain_of_pure_nodes_runs_in_one_task_each_node_its_own_step():
    messages = Messages()
    execution = started(chain("whole", transform("a"), transform("b"), transform("c")),
                        messages)
    first(messages, execution, "a", hand_on())
    execution.refresh_from_db()
    assert execution.status == "completed" and execution.output == {"c": "c"}
    assert messages.of(dispatch.NODE_RUN) == []  # nothing went through the broker
    for node in execution.nodes.all():
        assert node.status == "completed" and node.attempt == 1
        assert list(execution.logs.filter(node_id=node.node_id).values_list(
            "event", flat=True).order_by("id")) == ["node.running", "node.completed"]


def test_the_budget_of_steps_is_kept_and_the_rest_is_sent():
    messages = Messages()
    execution = started(chain("budget", transform("a"), transform("b"), transform("c")),
                        messages)
    first(messages, execution, "a", hand_on(steps=1))
    states = {node.node_id: node.status for node in execution.nodes.all()}
    assert states == {"a": "completed", "b": "completed", "c": "pending"}
    assert messages.of(dispatch.NODE_RUN) == [(str(execution.pk), "c")]


@pytest.mark.parametrize("successor", [
    {"id": "b", "type": "Upstream", "data": {}},  # a type that does not say it is pure
    transform("b", timeout=30),  # a timeout shorter than the task's limit
])
def test_a_successor_that_is_not_pure_or_has_a_shorter_timeout_is_sent(successor):
    messages = Messages()
    execution = started(chain(f"sent-{successor['type'].lower()}", transform("a"), successor),
                        messages)
    first(messages, execution, "a", hand_on())
    assert messages.of(dispatch.NODE_RUN) == [(str(execution.pk), "b")]
    assert execution.nodes.get(node_id="b").status == "pending"


def test_a_fan_out_is_sent_not_handed_on():
    messages = Messages()
    execution = started({"name": "fan", "namespace": "hand-on", "nodes": [
        transform("a"), transform("b"), transform("c")],
        "edges": [{"source": "a", "target": "b"}, {"source": "a", "target": "c"}]}, messages)
    first(messages, execution, "a", hand_on())
    assert sorted(messages.of(dispatch.NODE_RUN)) == [(str(execution.pk), "b"),
                                                      (str(execution.pk), "c")]


def test_a_handed_on_node_that_asks_for_a_retry_is_sent_with_its_delay():
    messages = Messages()
    execution = started(chain("retry", transform("a"), transform(
        "b", retry={"max_attempts": 3, "initial_delay": 2, "jitter": False})), messages)
    transform_type = default_registry().get("Transform")
    original = transform_type.execute

    def flaky(self, context):
        if context.node_id == "b":
            raise TransientFault("the peer is busy")
        return original(self, context)

    with mock.patch.object(transform_type, "execute", flaky):
        first(messages, execution, "a", hand_on())
    b = execution.nodes.get(node_id="b")
    assert b.status == "retrying" and b.attempt == 1
    [message] = [m for m in messages.sent if m.task == dispatch.NODE_RUN]
    assert message.args == (str(execution.pk), "b")
    assert message.options["countdown"] == 2
