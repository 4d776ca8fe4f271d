"""Definition validation: every problem at once, each with its node, edge and field."""

from __future__ import annotations

from typing import Any

import pytest

from tests.workflows.definitions.builders import codes, edge, logger, only, workflow
from workflows.definitions import (
    DefinitionErrorCode,
    Problem,
    definition_load,
    definition_validate,
)

CONTRACT_EXAMPLE = """
name: order-approval            # unique within its namespace; [a-z0-9][a-z0-9_.-]*
namespace: sales                # optional, default "default"
description: Approve big orders
settings:
  timeout: 1800
  max_retries: 3
  priority: normal
  concurrency: 0
  overlap: queue
  on_failure: fail
  dependencies: []
inputs:
  type: object
  properties: {order_id: {type: integer}}
  required: [order_id]
output: "{{ nodes.notify.body }}"
nodes:
  - id: fetch
    type: HttpRequest
    name: Fetch order
    data:
      url: "https://shop.example/orders/{{ input.order_id }}"
      method: GET
    retry: {max_attempts: 5, backoff: 2.0, initial_delay: 1, max_delay: 60, jitter: true}
    timeout: 30
    position: {x: 120, y: 80}
  - id: big
    type: Conditional
    data: {expression: "nodes.fetch.body.total > 1000"}
  - id: approve
    type: UserAction
    data: {assignee: "role:manager", prompt: "Approve order {{ input.order_id }}?",
           outcomes: [approved, rejected], timeout: 86400, timeout_outcome: rejected}
  - id: notify
    type: EmailNotification
    data: {to: ["ops@example.com"], subject: "Order {{ input.order_id }}",
           body: "{{ nodes.approve.outcome }}"}
edges:
  - {source: fetch, target: big}
  - {source: big, target: approve, sourceHandle: "true"}
  - {source: big, target: notify, sourceHandle: "false"}
  - {source: approve, target: notify}
"""


def conditional(node_id: str, **data: Any) -> dict[str, Any]:
    return {"id": node_id, "type": "Conditional", "data": data}


# --- clean definitions ------------------------------------------------------------------------

def test_contract_example_is_valid():
    # given the example of the contract's section 1
    definition = definition_load(CONTRACT_EXAMPLE)
    # when it is validated
    report = definition_validate(definition)
    # then there is nothing to report
    assert report.as_dict() == {"valid": True, "errors": [], "warnings": []}


def test_minimal_definition_with_no_nodes_is_valid():
    assert definition_validate({"name": "empty", "nodes": []}).ok


def test_designer_extensions_are_allowed():
    # given x- keys at the top level, on a node and on an edge
    definition = workflow(
        [logger("a", **{"x-color": "red"}), logger("b")],
        [{**edge("a", "b"), "x-animated": True}],
        **{"x-designer": {"zoom": 1.5}},
    )
    assert definition_validate(definition).ok


# --- the document's shape ---------------------------------------------------------------------

def test_top_level_schema_violations_name_their_field():
    # given a bad name, an out-of-range timeout, an unknown setting and an unknown key
    definition = workflow(
        [logger("a")], name="Bad Name", settings={"timeout": 0, "bogus": 1}, colour="red"
    )
    # when validated
    report = definition_validate(definition)
    # then each is an invalid_document problem at its field
    fields = {p.field for p in report.errors if p.code == DefinitionErrorCode.INVALID_DOCUMENT}
    assert fields == {"name", "settings.timeout", "settings.bogus", "colour"}


@pytest.mark.parametrize(("document", "field"), [
    (workflow([logger("a")], name="nightly\n"), "name"),
    (workflow([logger("a")], namespace="team\n"), "namespace"),
    (workflow([logger("a\n")]), "nodes[0].id"),
    (workflow([{"id": "v", "type": "Variable", "data": {"set": {"total\n": 1}}}]),
     "nodes[0].data.set"),
], ids=["name", "namespace", "node-id", "node-data"])
def test_a_name_with_a_final_newline_is_refused(document, field):
    # given a definition whose name, namespace, node id or node setting ends in a newline
    # (a pattern written ^...$ let it through where Python's $ matched before it)
    report = definition_validate(document)
    # then it is refused, naming the field
    assert field in [problem.field for problem in report.errors], report.as_dict()


def test_missing_name_and_nodes_are_reported():
    report = definition_validate({"description": "nothing"})
    assert {(p.code, p.field) for p in report.errors} == {
        ("invalid_document", "name"),
        ("invalid_document", "nodes"),
    }


def test_node_shape_problem_names_the_node():
    # given a node whose retry has max_attempts 0
    definition = workflow([logger("a", retry={"max_attempts": 0})])
    # then the problem concerns node a, at its retry field
    problem = only(definition_validate(definition), "invalid_document")
    assert (problem.node, problem.field) == ("a", "nodes[0].retry.max_attempts")
    assert "Node 'a'" in problem.message


def test_bad_node_id_pattern():
    problem = only(definition_validate(workflow([logger("Fetch")])), "invalid_document")
    assert problem.field == "nodes[0].id"


def test_dependency_settings_are_checked():
    definition = workflow(
        [],
        settings={
            "dependencies": [{"workflow": "etl/extract"}, {"workflow": "x", "condition": "no"}]
        },
    )
    problem = only(definition_validate(definition), "invalid_document")
    assert problem.field == "settings.dependencies[1].condition"


def test_inputs_must_be_a_json_schema():
    # given inputs whose type is not a JSON Schema type
    definition = workflow([], inputs={"type": "object", "properties": {"n": {"type": "int"}}})
    problem = only(definition_validate(definition), "invalid_input_schema")
    assert problem.field == "inputs.properties.n.type"


def test_not_an_object():
    report = definition_validate(["not", "a", "mapping"])  # type: ignore[arg-type]
    assert codes(report) == ["invalid_document"]


def test_problem_as_dict_omits_missing_locations():
    problem = Problem(code="cycle", message="m", node="a")
    assert problem.as_dict() == {"code": "cycle", "message": "m", "severity": "error", "node": "a"}


# --- nodes ------------------------------------------------------------------------------------

def test_duplicate_node_id():
    report = definition_validate(workflow([logger("a"), logger("a")]))
    problem = only(report, "duplicate_node_id")
    assert (problem.node, problem.field) == ("a", "nodes[1].id")


def test_unknown_node_type_lists_the_known_ones():
    definition = workflow([{"id": "a", "type": "Teleport", "data": {}}])
    problem = only(definition_validate(definition), "unknown_node_type")
    assert (problem.node, problem.field) == ("a", "nodes[0].type")
    assert "HttpRequest" in problem.details["known"]


def test_invalid_node_data_one_problem_per_error():
    # given an HttpRequest without url, with a bad method and a non-string header
    node = {"id": "fetch", "type": "HttpRequest", "data": {"method": "FETCH", "headers": {"A": 1}}}
    report = definition_validate(workflow([node]))
    # then each is reported at its own field of the node's data
    assert {(p.code, p.node, p.field) for p in report.errors} == {
        ("invalid_node_data", "fetch", "nodes[0].data.url"),
        ("invalid_node_data", "fetch", "nodes[0].data.method"),
        ("invalid_node_data", "fetch", "nodes[0].data.headers.A"),
    }


def test_unknown_compensation_node():
    definition = workflow([logger("a", compensation="undo_a")])
    problem = only(definition_validate(definition), "unknown_node_reference")
    assert (problem.node, problem.field) == ("a", "nodes[0].compensation")


def test_known_compensation_node():
    definition = workflow([logger("a", compensation="undo"), logger("undo")])
    assert definition_validate(definition).ok


def test_over_500_nodes_is_a_warning_not_an_error():
    # given 501 nodes
    definition = workflow([logger(f"n{index}") for index in range(501)])
    # when validated
    report = definition_validate(definition)
    # then it is valid, with a too_many_nodes warning
    assert report.ok
    [warning] = report.warnings
    assert warning.code == "too_many_nodes" and warning.severity == "warning"
    assert report.as_dict()["warnings"][0]["details"] == {"count": 501, "limit": 500}


# --- templates and expressions ----------------------------------------------------------------

def test_template_syntax_in_data():
    definition = workflow([logger("a", message="Hello {{ input.name ")])
    problem = only(definition_validate(definition), "template_syntax")
    assert (problem.node, problem.field) == ("a", "nodes[0].data.message")
    assert "line 1" in problem.message


def test_template_syntax_deep_in_data_reports_the_line():
    node = {
        "id": "t", "type": "Transform",
        "data": {"template": {"rows": [{"a": "ok {{ x }}"}, {"b": "line one\n{% for %}"}]}},
    }
    problem = only(definition_validate(workflow([node])), "template_syntax")
    assert problem.field == "nodes[0].data.template.rows[1].b"
    assert "line 2" in problem.message


def test_template_syntax_in_output():
    problem = only(definition_validate(workflow([], output="{{ nodes.a.body ")), "template_syntax")
    assert (problem.node, problem.field) == (None, "output")


def test_expression_syntax_bare_and_braced():
    # given expressions written bare and as one {{ }}, valid and not
    nodes = [
        conditional("a", expression="input.total > 1000"),
        conditional("b", expression="{{ input.total > 1000 }}"),
        conditional("c", expression="input.total >"),
        conditional("d", expression="{{ {'k': {'v': 1}}['k'] }}"),
    ]
    report = definition_validate(workflow(nodes))
    problem = only(report, "expression_syntax")
    assert (problem.node, problem.field) == ("c", "nodes[2].data.expression")


def test_expression_syntax_in_cases_and_loop_items():
    cases = [{"name": "ok", "expression": "true"}, {"name": "bad", "expression": "x ==="}]
    loop = {
        "id": "each", "type": "Loop",
        "data": {"items": "input.rows |", "body": {"workflow": "process-row"}},
    }
    report = definition_validate(workflow([conditional("c", cases=cases), loop]))
    assert {p.field for p in report.errors if p.code == "expression_syntax"} == {
        "nodes[0].data.cases[1].expression",
        "nodes[1].data.items",
    }


# --- loop bodies ------------------------------------------------------------------------------

def loop(node_id: str, body: dict[str, Any]) -> dict[str, Any]:
    return {"id": node_id, "type": "Loop", "data": {"items": "input.rows", "body": body}}


def test_valid_inline_loop_body():
    body = {"nodes": [logger("a", "{{ item.name }}"), logger("b")], "edges": [edge("a", "b")]}
    assert definition_validate(workflow([loop("each", body), logger("a")])).ok


def test_loop_body_is_validated_with_its_own_ids():
    # given a body with a duplicate id, an unknown type, a bad template, an edge to a missing
    # node and a cycle
    body = {
        "nodes": [
            logger("a", "{{ item"), logger("a"), {"id": "b", "type": "Nope"}, logger("c"),
            logger("d"),
        ],
        "edges": [edge("a", "ghost"), edge("c", "d"), edge("d", "c")],
    }
    report = definition_validate(workflow([logger("x"), loop("each", body)]))
    # then each problem names the node as loop/child and the field under the body
    found = {(p.code, p.node, p.edge, p.field) for p in report.errors}
    prefix = "nodes[1].data.body."
    assert found == {
        ("template_syntax", "each/a", None, prefix + "nodes[0].data.message"),
        ("duplicate_node_id", "each/a", None, prefix + "nodes[1].id"),
        ("unknown_node_type", "each/b", None, prefix + "nodes[2].type"),
        ("edge_target_missing", None, "each/a->ghost", prefix + "edges[0].target"),
        ("cycle", "each/c", None, None),
    }


def test_nested_loop_bodies():
    inner = {"nodes": [{"id": "leaf", "type": "Logger", "data": {}}]}
    outer = {"nodes": [loop("inner", inner)]}
    problem = only(definition_validate(workflow([loop("outer", outer)])), "invalid_node_data")
    assert problem.node == "outer/inner/leaf"
    assert problem.field == "nodes[0].data.body.nodes[0].data.body.nodes[0].data.message"


def test_loop_body_node_shape():
    body = {"nodes": [{"id": "a", "type": "Logger", "data": {"message": "x"}, "colour": 1}]}
    problem = only(definition_validate(workflow([loop("each", body)])), "invalid_document")
    assert (problem.node, problem.field) == ("each/a", "nodes[0].data.body.nodes[0].colour")


# --- everything at once -----------------------------------------------------------------------

def test_every_problem_is_reported_at_once():
    # given one definition with a problem of each kind
    definition = workflow(
        [
            logger("a", compensation="nobody"),
            logger("a"),
            {"id": "b", "type": "Teleport"},
            {"id": "c", "type": "HttpRequest", "data": {}},
            logger("d", "{{ broken"),
            conditional("e", expression="1 +"),
            logger("f"),
            logger("g"),
        ],
        [
            edge("a", "ghost"),
            edge("phantom", "f"),
            edge("f", "g"),
            edge("f", "g"),
            edge("g", "f"),
            edge("e", "f", "maybe"),
        ],
        settings={"priority": "urgent"},
        inputs={"type": "objekt"},
    )
    # when validated
    report = definition_validate(definition)
    # then every kind is there
    assert set(codes(report)) == {
        "invalid_document", "duplicate_node_id", "unknown_node_type", "invalid_node_data",
        "template_syntax", "expression_syntax", "unknown_node_reference",
        "edge_target_missing", "edge_source_missing", "duplicate_edge", "cycle",
        "unknown_handle", "invalid_input_schema",
    }
    assert all(p.node or p.edge or p.field for p in report.errors)


def test_a_compensating_node_may_not_be_connected():
    definition = workflow(
        [logger("a", compensation="undo"), logger("undo"), logger("b")],
        [edge("a", "b"), edge("b", "undo")],
    )
    problem = only(definition_validate(definition), "compensation_in_flow")
    assert problem.node == "a" and problem.field == "nodes[0].compensation"


# --- what templates read ----------------------------------------------------------------------

def test_a_secret_outside_a_credential_field_is_an_error_naming_node_and_field():
    # given a secret read in a Transform, and one in an HTTP header (a credential field)
    nodes = [
        {"id": "t", "type": "Transform",
         "data": {"template": {"k": "{{ secrets.api_key | reverse }}"}}},
        {"id": "h", "type": "HttpRequest",
         "data": {"url": "https://api.example/x",
                  "headers": {"Authorization": "Bearer {{ secrets.api_key }}"}}},
        logger("l", message="{{ secrets['api_key'] }}"),
    ]
    # when validated
    report = definition_validate(workflow(nodes))
    # then the Transform and the Logger are refused, naming the field; the header is not
    problems = [p for p in report.errors if p.code == "secret_outside_credentials"]
    assert [(p.node, p.field) for p in problems] == [
        ("t", "nodes[0].data.template.k"), ("l", "nodes[2].data.message")]
    assert "secrets.api_key" in problems[0].message
    assert problems[0].details["secret_fields"] == []
    # and so is a secret in the workflow's output template
    output = definition_validate(workflow([], output="{{ secrets.api_key }}"))
    assert only(output, "secret_outside_credentials").field == "output"


def test_undeclared_inputs_are_warnings_naming_node_and_field():
    # given an inputs schema declaring order_id, and templates reading more
    nodes = [
        logger("a", message="{{ input.order_id }} {{ input.threshold | default(5) }}"),
        {"id": "b", "type": "Conditional", "data": {"expression": "input['limit'] > 3"}},
    ]
    definition = workflow(nodes, output="{{ input.extra }}", inputs={
        "type": "object", "properties": {"order_id": {"type": "integer"}}})
    # when validated
    report = definition_validate(definition)
    # then it is valid, with a warning per undeclared name read
    assert report.ok
    found = {(w.node, w.field, w.details["input"]) for w in report.warnings
             if w.code == "undeclared_input"}
    assert found == {("a", "nodes[0].data.message", "threshold"),
                     ("b", "nodes[1].data.expression", "limit"), (None, "output", "extra")}
    # and a workflow without an inputs schema (any input) gets no such warning
    assert definition_validate(workflow(nodes)).warnings == []
