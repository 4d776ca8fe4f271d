"""Every numeric setting of a definition has a maximum: one past it is refused when the
workflow is saved, naming the field; the maximum itself is accepted."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from django.conf import settings

from workflows.definitions import definition_validate

BASE: dict[str, Any] = {
    "name": "bounded",
    "nodes": [{"id": "a", "type": "Logger", "data": {"message": "hi"}}],
    "edges": [],
}


def _node(node: dict[str, Any]) -> dict[str, Any]:
    return {**BASE, "nodes": [{"id": "a", **node}]}


# (name, the document with the value at the field, where the problem is named, maximum)
CASES: list[tuple[str, Any, str, float]] = [
    ("node timeout", lambda v: _node({"type": "Logger", "data": {"message": "x"}, "timeout": v}),
     "nodes[0].timeout", settings.WORKFLOW_NODE_TIMEOUT_MAX),
    ("retry max_attempts", lambda v: _node({"type": "Logger", "data": {"message": "x"},
                                            "retry": {"max_attempts": v}}),
     "nodes[0].retry.max_attempts", settings.WORKFLOW_MAX_ATTEMPTS),
    ("retry backoff", lambda v: _node({"type": "Logger", "data": {"message": "x"},
                                       "retry": {"backoff": v}}),
     "nodes[0].retry.backoff", 10),
    ("retry initial_delay", lambda v: _node({"type": "Logger", "data": {"message": "x"},
                                             "retry": {"initial_delay": v}}),
     "nodes[0].retry.initial_delay", settings.WORKFLOW_RETRY_DELAY_MAX),
    ("retry max_delay", lambda v: _node({"type": "Logger", "data": {"message": "x"},
                                         "retry": {"max_delay": v}}),
     "nodes[0].retry.max_delay", settings.WORKFLOW_RETRY_DELAY_MAX),
    ("position", lambda v: _node({"type": "Logger", "data": {"message": "x"},
                                  "position": {"x": v, "y": 0}}),
     "nodes[0].position.x", 1e7),
    ("settings timeout", lambda v: {**BASE, "settings": {"timeout": v}},
     "settings.timeout", settings.WORKFLOW_EXECUTION_TIMEOUT_MAX),
    ("settings max_retries", lambda v: {**BASE, "settings": {"max_retries": v}},
     "settings.max_retries", settings.WORKFLOW_MAX_ATTEMPTS - 1),
    ("settings concurrency", lambda v: {**BASE, "settings": {"concurrency": v}},
     "settings.concurrency", settings.WORKFLOW_CONCURRENCY_MAX),
    ("Delay seconds", lambda v: _node({"type": "Delay", "data": {"seconds": v}}),
     "nodes[0].data.seconds", settings.WORKFLOW_WAIT_MAX),
    ("HttpRequest timeout", lambda v: _node({"type": "HttpRequest", "data": {
        "url": "https://example.com", "timeout": v}}),
     "nodes[0].data.timeout", settings.WORKFLOW_NODE_TIMEOUT_MAX),
    ("Webhook timeout", lambda v: _node({"type": "Webhook", "data": {"timeout": v}}),
     "nodes[0].data.timeout", settings.WORKFLOW_WAIT_MAX),
    ("UserAction timeout", lambda v: _node({"type": "UserAction", "data": {
        "prompt": "ok?", "assignee": "ann", "timeout": v}}),
     "nodes[0].data.timeout", settings.WORKFLOW_WAIT_MAX),
    ("WaitForMessage timeout", lambda v: _node({"type": "WaitForMessage", "data": {
        "message_type": "paid", "correlation_key": "k", "timeout": v}}),
     "nodes[0].data.timeout", settings.WORKFLOW_WAIT_MAX),
    ("Loop concurrency", lambda v: _node({"type": "Loop", "data": {
        "items": "{{ input.items }}", "body": {"workflow": "child"}, "concurrency": v}}),
     "nodes[0].data.concurrency", 100),
    ("Loop body version", lambda v: _node({"type": "Loop", "data": {
        "items": "{{ input.items }}", "body": {"workflow": "child", "version": v}}}),
     "nodes[0].data.body.version", 2**31 - 1),
    ("Subworkflow version", lambda v: _node({"type": "Subworkflow", "data": {
        "workflow": "child", "version": v}}),
     "nodes[0].data.version", 2**31 - 1),
    ("Counter increment", lambda v: _node({"type": "Counter", "data": {
        "name": "c", "increment": v}}),
     "nodes[0].data.increment", 10**15),
    ("DatabaseQuery max_rows", lambda v: _node({"type": "DatabaseQuery", "data": {
        "connection": "DB", "sql": "select 1", "max_rows": v}}),
     "nodes[0].data.max_rows", 100_000),
]


def _errors(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [problem.as_dict() for problem in definition_validate(copy.deepcopy(document)).errors]


@pytest.mark.parametrize(("build", "field", "maximum"), [case[1:] for case in CASES],
                         ids=[case[0] for case in CASES])
def test_every_numeric_field_has_a_maximum(build, field, maximum):
    # given the maximum and one past it (and a value no machine number can hold)
    at_maximum = _errors(build(maximum))
    # then the maximum is accepted
    assert not [e for e in at_maximum if e.get("field", "").startswith(field)], at_maximum
    for value in (maximum + 1, 1e300):
        # and what is past it is refused, naming the field
        errors = _errors(build(value))
        assert any(e.get("field", "").startswith(field) for e in errors), (value, errors)


def _unbounded(schema: Any, path: str = "") -> list[str]:
    """Paths of number or integer subschemas without a maximum."""
    found: list[str] = []
    if isinstance(schema, dict):
        types = schema.get("type")
        types = types if isinstance(types, list) else [types] if isinstance(types, str) else []
        if ({"number", "integer"} & set(types)
                and "maximum" not in schema and "exclusiveMaximum" not in schema):
            found.append(path or "(top)")
        for key, value in schema.items():
            found += _unbounded(value, f"{path}.{key}")
    elif isinstance(schema, list):
        for index, item in enumerate(schema):
            found += _unbounded(item, f"{path}[{index}]")
    return found


def test_no_numeric_field_of_a_definition_or_a_node_type_is_unbounded():
    # given the definition's schema and every registered node type's data schema
    from workflows.definitions.schema import DEFINITION_SCHEMA
    from workflows.nodes.registry import default_registry

    registry = default_registry()
    schemas = {"definition": DEFINITION_SCHEMA,
               **{name: registry.get(name).data_schema for name in registry.names()}}
    # then every number a user writes has a maximum (a new field needs one too)
    unbounded = {name: paths for name, schema in schemas.items()
                 if (paths := _unbounded(schema))}
    assert unbounded == {}
