"""Which attempts get the finished nodes' outputs in their scope: every node type is
treated alike, by what it declares (`NodeType.outputs_read`) and what its data names.
The engine is stepped in this process."""

from __future__ import annotations

import pytest

from executions import dispatch, services
from tests.engine import Messages, workflow_from

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("test_node_types")]


def run_all(definition: dict):
    messages = Messages()
    execution, _ = messages.step(lambda: services.execution_start(
        workflow=workflow_from(definition), input={}))
    done = 0
    while done < len(messages.sent):
        message = messages.sent[done]
        done += 1
        if message.task == dispatch.NODE_RUN:
            messages.step(lambda args=message.args: services.node_run(
                execution_id=args[0], node_id=args[1]))
    execution.refresh_from_db()
    return execution


def test_a_type_that_reads_the_outputs_in_its_code_sees_them_without_naming_them():
    execution = run_all({"name": "reader", "namespace": "scope", "nodes": [
        {"id": "first", "type": "Transform", "data": {"template": 1}},
        {"id": "second", "type": "Transform", "data": {"template": 2}},
        {"id": "reader", "type": "Upstream", "data": {}},
    ], "edges": [{"source": "first", "target": "second"},
                 {"source": "second", "target": "reader"}]})
    assert execution.status == "completed", execution.error
    assert execution.output == {"reader": ["first", "second"]}


def test_a_query_of_the_whole_scope_sees_the_outputs_and_one_of_its_own_data_does_not():
    execution = run_all({"name": "query", "namespace": "scope", "nodes": [
        {"id": "first", "type": "Transform", "data": {"template": {"n": 7}}},
        {"id": "whole", "type": "Transform", "data": {"jmespath": "nodes.first.n"}},
        {"id": "own", "type": "Transform",
         "data": {"jmespath": "length(@)", "source": [1, 2, 3]}},
    ], "edges": [{"source": "first", "target": "whole"}, {"source": "first", "target": "own"}]})
    assert execution.status == "completed", execution.error
    assert execution.output == {"whole": 7, "own": 3}
