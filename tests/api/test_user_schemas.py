"""User-written JSON Schemas (workflow inputs, Validator nodes, UserAction forms) run their
patterns in linear time and may not refer outside themselves."""

from __future__ import annotations

import time

import pytest

from tests.engine import attempt_fault, attempt_output, workflow_from
from workflows.models import WorkflowVersion
from workflows.nodes.builtin.data import Validator
from workflows.nodes.builtin.waiting import UserAction
from workflows.nodes.faults import ValidationFault

pytestmark = pytest.mark.django_db

# Python's backtracking engine needs about a minute for this text on this pattern; its
# time doubles with each further character.
EVIL = "(a+)+$"
TEXT = "a" * 27 + "!"
LIVENESS_SECONDS = 10

SCHEMAS = {
    "pattern": ({"type": "object", "properties": {"code": {"type": "string", "pattern": EVIL}}},
                {"code": TEXT}),
    "patternProperties": ({"type": "object", "patternProperties": {EVIL: {"type": "integer"}}},
                          {TEXT.replace("!", "a"): "x"}),
    "additionalProperties": ({"type": "object", "patternProperties": {EVIL: {}},
                              "additionalProperties": False}, {TEXT: 1}),
}


@pytest.mark.parametrize("keyword", list(SCHEMAS))
def test_an_input_pattern_is_checked_in_linear_time(client_for, operator, definition, keyword):
    # given a workflow whose inputs schema holds a pattern that backtracks exponentially
    schema, value = SCHEMAS[keyword]
    workflow = workflow_from(definition(inputs=schema))

    # when it is executed with an input that makes a backtracking engine explode
    started = time.monotonic()
    response = client_for(operator).post(f"/api/workflows/{workflow.pk}/execute",
                                         {"input": value}, format="json")

    # then the answer comes at once: the input is refused, naming the field
    assert time.monotonic() - started < LIVENESS_SECONDS
    assert response.status_code == 400, response.json()
    assert response.json()["details"]["fields"]


@pytest.mark.parametrize("keyword", list(SCHEMAS))
def test_a_validator_node_checks_in_linear_time(keyword):
    # given a Validator node with the same schema
    schema, value = SCHEMAS[keyword]
    # when it runs on the same value
    started = time.monotonic()
    output = attempt_output(Validator, {"schema": schema, "value": value, "mode": "branch"})
    # then it answers at once that the value is invalid
    assert time.monotonic() - started < LIVENESS_SECONDS
    assert output["valid"] is False


def test_a_user_action_form_checks_in_linear_time():
    # given an open UserAction whose form has the pattern
    form, response = SCHEMAS["pattern"]
    request = {"form": form, "outcomes": ["done"], "timeout_outcome": None}
    # when it is answered with the value
    started = time.monotonic()
    with pytest.raises(ValidationFault) as refused:
        UserAction.on_resume(request, {"payload": response}, by="ann", timed_out=False)
    # then the answer is refused at once
    assert time.monotonic() - started < LIVENESS_SECONDS
    assert "does not match" in str(refused.value)


UNUSABLE = [
    ({"$ref": "file:///etc/passwd"}, "outside the schema"),
    ({"$defs": {"a": {"$ref": "https://example.com/schema.json"}}}, "outside the schema"),
    ({"properties": {"a": {"type": "string", "pattern": "^(?=x)"}}}, "not supported"),
    ({"patternProperties": {"(\\w)\\1": {}}}, "not supported"),
]


@pytest.mark.parametrize(("schema", "named"), UNUSABLE)
def test_an_unusable_schema_is_refused_when_saved(client_for, editor, definition, schema,
                                                  named):
    # given schemas that refer outside themselves or use patterns RE2 cannot run, as a
    # workflow's inputs, a Validator node's schema and a UserAction form
    nodes = [{"id": "check", "type": "Validator", "data": {"schema": schema, "value": 1}},
             {"id": "ask", "type": "UserAction",
              "data": {"prompt": "ok?", "assignee": "ann", "form": schema}}]
    # when the workflow is saved
    response = client_for(editor).post(
        "/api/workflows", {"definition": definition(inputs=schema, nodes=nodes, edges=[])},
        format="json")
    # then it is refused, with each place named
    assert response.status_code == 400, response.json()
    problems = response.json()["details"]["errors"]
    assert {problem["field"].split(".")[0] for problem in problems} >= {"inputs", "nodes[0]",
                                                                        "nodes[1]"}
    assert all(named in problem["message"] for problem in problems), problems


def test_a_stored_schema_with_a_file_reference_is_a_400_at_execute(client_for, operator,
                                                                   definition):
    # given a workflow saved before references were checked, with a file reference
    workflow = workflow_from(definition())
    WorkflowVersion.objects.filter(workflow=workflow).update(
        definition={**definition(), "inputs": {"$ref": "file:///etc/passwd"}})

    # when it is executed
    response = client_for(operator).post(f"/api/workflows/{workflow.pk}/execute",
                                         {"input": {}}, format="json")

    # then the answer says the schema cannot be used, instead of a server error
    assert response.status_code == 400, response.content[:300]
    assert "inputs schema cannot be used" in response.json()["message"]


def test_a_validator_with_a_file_reference_fails_the_node_without_reading_it():
    fault = attempt_fault(Validator, {"schema": {"$ref": "file:///etc/passwd"}, "value": 1})
    assert "outside the schema" in str(fault)
