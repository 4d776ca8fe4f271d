"""Counter: atomic increments on real workers, per workflow or global."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from django.db import connection

from executions import services
from executions.models import Counter as CounterRow
from executions.services.counters import counter_add
from executions.services.external import external_call
from tests.engine import run, wait_for, workflow_from
from workflows.nodes.builtin.data import Counter
from workflows.nodes.context import NodeContext
from workflows.nodes.faults import FaultClass, NodeFault

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True),
              pytest.mark.usefixtures("worker")]


def counting(name: str, nodes: list[dict[str, Any]]) -> dict[str, Any]:
    return {"name": name, "namespace": "counters", "nodes": nodes}


def counter(node_id: str, **data: Any) -> dict[str, Any]:
    return {"id": node_id, "type": "Counter", "data": data}


def test_twenty_parallel_nodes_count_to_twenty():
    # given twenty independent nodes incrementing the same counter, all ready at once
    definition = counting("parallel", [counter(f"c{i}", name="hits") for i in range(20)])
    # when they run on the worker's parallel processes
    execution = run(definition)
    # then no increment was lost, and each node saw a distinct value
    assert execution.status == "completed", execution.error
    values = sorted(node.output["value"] for node in execution.nodes.all())
    assert values == list(range(1, 21))
    assert CounterRow.objects.get(scope=str(execution.workflow_id), name="hits").value == 20


def test_workflow_counters_persist_across_executions_and_global_ones_are_shared():
    # given two workflows, each counting in its own scope and in the global one
    def definition(name: str) -> dict[str, Any]:
        return counting(name, [counter("mine", name="runs", increment=5),
                               counter("shared", name=f"all-{suffix}", scope="global")])

    suffix = uuid.uuid4().hex[:8]
    first = workflow_from(definition("first"))
    # when the first runs twice and the second once
    outputs = [wait_for(services.execution_start(workflow=first, input={})[0])
               for _ in range(2)]
    other = run(definition("second"))
    # then each workflow has its own counter, kept from one execution to the next
    assert [e.nodes.get(node_id="mine").output for e in outputs] == [{"value": 5},
                                                                    {"value": 10}]
    assert other.nodes.get(node_id="mine").output == {"value": 5}
    # and the global counter saw all three
    assert other.nodes.get(node_id="shared").output == {"value": 3}


def test_the_increment_may_be_computed_and_negative():
    execution = run(counting("down", [counter("down", name="stock",
                                              increment="{{ 0 - input.taken }}")]),
                    {"taken": 3})
    assert execution.nodes.get(node_id="down").output == {"value": -3}


def test_a_redelivered_attempt_does_not_count_twice():
    # given a counter node that already ran
    execution = run(counting("once", [counter("count", name="once")]))
    assert execution.nodes.get(node_id="count").output == {"value": 1}
    # when its attempt is delivered again
    node = Counter()
    context = NodeContext(execution_id=str(execution.pk), node_id="count", node_type="Counter",
                          attempt=1, raw_data={"name": "once"}, scope={},
                          run_external=external_call, run_counter_add=counter_add)
    node.preprocess(context)
    again = node.execute(context)
    # then it returns the value it counted, and the counter did not move
    assert again == {"value": 1}
    assert CounterRow.objects.get(scope=str(execution.workflow_id), name="once").value == 1


def test_concurrent_first_increments_race_to_create_the_row_safely():
    if connection.vendor != "postgresql":
        pytest.skip("the race is PostgreSQL's: SQLite serialises every write")
    # given threads that all find no row yet and increment the same global counter at once
    name = f"race-{uuid.uuid4().hex[:8]}"
    barrier = threading.Barrier(8)
    values: list[int] = []

    def increment() -> None:
        try:
            barrier.wait()
            context = NodeContext(execution_id=str(uuid.uuid4()), node_id="c",
                                  node_type="Counter", attempt=1, scope={},
                                  raw_data={"name": name, "scope": "global"},
                                  run_counter_add=counter_add)
            node = Counter()
            node.preprocess(context)
            values.append(node.execute(context)["value"])
        finally:
            connection.close()

    threads = [threading.Thread(target=increment) for _ in range(8)]
    # when they run
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then every increment counted once
    assert sorted(values) == list(range(1, 9))
    assert CounterRow.objects.get(scope="global", name=name).value == 8


def test_an_increment_that_is_not_an_integer_is_a_validation_fault():
    context = NodeContext(execution_id=str(uuid.uuid4()), node_id="c", node_type="Counter",
                          attempt=1, raw_data={"name": "x", "scope": "global",
                                               "increment": "{{ input.n }}"},
                          scope={"input": {"n": "three"}})
    node = Counter()
    node.preprocess(context)
    with pytest.raises(NodeFault) as raised:
        node.execute(context)
    assert raised.value.fault_class == FaultClass.VALIDATION
    assert "data.increment" in raised.value.message
