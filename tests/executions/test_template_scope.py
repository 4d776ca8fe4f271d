"""Templates in a running workflow: a mapping's keys before its methods, optional inputs
that were not sent, and the size of what a node's templates produce."""

from __future__ import annotations

import pytest

from tests.engine import run

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services,
              pytest.mark.usefixtures("worker")]

INPUTS = {"type": "object", "properties": {"order": {"type": "integer"},
                                           "threshold": {"type": "integer"}},
          "required": ["order"]}


def test_a_loop_runs_over_an_input_named_items():
    # given a Loop over `input.items` (also the name of a dict method)
    definition = {"name": "items", "namespace": "scope", "nodes": [
        {"id": "each", "type": "Loop", "data": {"items": "{{ input.items }}", "body": {
            "nodes": [{"id": "double", "type": "Transform",
                       "data": {"template": "{{ item * 2 }}"}}], "edges": []}}},
    ], "edges": []}
    # when it runs with a list under that key
    execution = run(definition, {"items": [1, 2, 3]})
    # then the loop ran over the list
    assert execution.status == "completed", execution.error
    assert execution.output == {"each": [2, 4, 6]}


def test_an_optional_input_not_sent_is_undefined_but_testable():
    # given a workflow whose optional `threshold` is tested and defaulted
    definition = {"name": "optional", "namespace": "scope", "inputs": INPUTS, "nodes": [
        {"id": "given", "type": "Conditional",
         "data": {"expression": "input.threshold is defined"}},
        {"id": "limit", "type": "Transform",
         "data": {"template": {"limit": "{{ input.threshold | default(5) }}"}}},
    ], "edges": []}
    # when it runs without it
    execution = run(definition, {"order": 1})
    # then the test says it is not defined, and the default applies
    assert execution.status == "completed", execution.error
    assert execution.nodes.get(node_id="given").branch == "false"
    assert execution.output["limit"] == {"limit": 5}


def test_a_plain_use_of_an_optional_input_not_sent_names_it():
    # given a workflow comparing its optional `threshold`
    definition = {"name": "plain", "namespace": "scope", "inputs": INPUTS, "nodes": [
        {"id": "big", "type": "Conditional", "data": {"expression": "input.threshold > 5"}},
    ], "edges": []}
    # when it runs without it
    execution = run(definition, {"order": 1})
    # then the node fails with a validation fault naming the input and how to test it
    node = execution.nodes.get(node_id="big")
    assert execution.status == "failed"
    assert node.error["fault"] == "validation"
    assert "input.threshold is not set" in node.error["message"]
    assert "is defined" in node.error["message"]


@pytest.mark.parametrize(("template", "field"), [
    ("{{ 'x' * 5000000 }}", "data.template"),
    (["{{ input.text }}", "{{ input.text }}", "{{ input.text }}"], "data.template[2]"),
])
def test_what_a_nodes_templates_produce_is_held_to_the_output_limit(template, field):
    # given a Transform whose template builds more than the limit (one million characters),
    # in one lone expression or across its strings
    definition = {"name": "big", "namespace": "scope", "nodes": [
        {"id": "big", "type": "Transform", "data": {"template": template}}], "edges": []}
    # when it runs
    execution = run(definition, {"text": "x" * 400_000})
    # then the node fails with a validation fault naming the field, and nothing big is stored
    node = execution.nodes.get(node_id="big")
    assert execution.status == "failed" and node.output is None
    assert node.error["fault"] == "validation"
    assert field in node.error["message"]
    assert "WORKFLOW_TEMPLATE_MAX_OUTPUT" in node.error["message"]
