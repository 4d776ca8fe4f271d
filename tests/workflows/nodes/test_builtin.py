"""The 18 built-in node types: a valid and invalid `data` for each, and their handles."""

from __future__ import annotations

from typing import Any

import pytest

from workflows.definitions import node_validate
from workflows.nodes import NodeType, default_registry
from workflows.nodes.builtin import BUILTIN_NODE_TYPES
from workflows.nodes.builtin.waiting import cron_problem

WAITING = {"Delay", "Timer", "UserAction", "WaitForMessage", "Webhook", "Subworkflow"}

VALID: list[tuple[str, dict[str, Any]]] = [
    ("HttpRequest", {"url": "https://api.example/orders/{{ input.id }}"}),
    ("HttpRequest", {
        "url": "{{ vars.base }}/orders", "method": "POST",
        "headers": {"X-Trace": "{{ execution.id }}"},
        "query": {"page": 2, "tag": ["a", "b"]}, "json": {"id": "{{ input.id }}"},
        "auth": {"secret": "shop_token", "type": "bearer"}, "expected_status": [200, 201],
        "timeout": 10, "follow_redirects": False,
    }),
    ("DatabaseQuery", {"connection": "orders_db", "sql": "select * from orders where id = %s",
                       "params": ["{{ input.id }}"]}),
    ("DatabaseQuery", {
        "connection": "reporting", "sql": "update t set a = %(a)s", "params": "{{ vars.params }}",
        "mode": "write", "max_rows": 10,
    }),
    ("EmailNotification", {"to": ["Ops <ops@example.com>"], "subject": "Hi", "body": "{{ x }}"}),
    ("EmailNotification", {
        "to": "{{ input.recipients }}", "cc": ["a@example.com"], "bcc": [], "subject": "Report",
        "html": "<b>{{ vars.total }}</b>", "from": "noreply@example.com",
    }),
    ("FileOperation", {"action": "write", "path": "reports/{{ input.day }}.csv", "content": "a,b"}),
    ("FileOperation", {"action": "list", "path": "reports/*.csv"}),
    ("FtpTransfer", {
        "connection": "partner_ftp", "action": "upload", "remote_path": "/in/orders.csv",
        "local_path": "exports/orders.csv", "tls": True,
    }),
    ("FtpTransfer", {"connection": "partner_ftp", "action": "list", "remote_path": "/out"}),
    ("Conditional", {"expression": "nodes.fetch.body.total > 1000"}),
    ("Conditional", {"cases": [
        {"name": "gold", "expression": "input.total > 1000"},
        {"name": "silver", "expression": "{{ input.total > 100 }}"},
    ]}),
    ("Loop", {"items": "input.rows", "body": {"workflow": "sales/process-row", "version": 3}}),
    ("Loop", {"items": "{{ input.rows }}", "concurrency": 5, "body": {
        "nodes": [{"id": "log", "type": "Logger", "data": {"message": "{{ index }}: {{ item }}"}}],
    }}),
    ("Delay", {"seconds": 30}),
    ("Delay", {"until": "2030-01-31T09:00:00+01:00"}),
    ("Delay", {"seconds": "{{ input.wait }}"}),
    ("Variable", {"set": {"total": "{{ nodes.fetch.body.total }}", "retries": 0}}),
    ("Transform", {"template": {"id": "{{ input.id }}", "tags": ["a", "{{ input.tag }}"]}}),
    ("Transform", {"jmespath": "orders[?total > `100`].id", "source": "{{ nodes.fetch.body }}"}),
    ("Logger", {"message": "Order {{ input.order_id }}"}),
    ("Logger", {"level": "error", "message": "failed"}),
    ("Webhook", {}),
    ("Webhook", {"timeout": 3600, "methods": ["POST", "PUT"]}),
    ("Timer", {"at": "2030-01-31T09:00:00Z"}),
    ("Timer", {"cron": "*/15 9-17 * jan-jun mon-fri", "timezone": "Europe/Paris"}),
    ("Timer", {"cron": "@daily"}),
    ("Counter", {"name": "orders-{{ input.region }}"}),
    ("Counter", {"name": "stock", "scope": "global", "increment": -2}),
    ("Validator", {"value": "{{ input }}", "schema": {"type": "object", "required": ["id"]}}),
    ("Validator", {"value": 1, "schema": {"type": "integer"}, "mode": "branch"}),
    ("Subworkflow", {"workflow": "billing/charge", "version": 2, "input": {"id": "{{ x }}"}}),
    ("Subworkflow", {"workflow": "notify", "input": "{{ nodes.fetch.body }}", "wait": False}),
    ("UserAction", {"assignee": "role:manager", "prompt": "Approve?",
                    "outcomes": ["approved", "rejected"], "timeout": 86400,
                    "timeout_outcome": "rejected"}),
    ("UserAction", {"assignee": "ann", "prompt": "Fill in", "form": {
        "type": "object", "properties": {"reason": {"type": "string"}},
    }}),
    ("WaitForMessage", {"message_type": "payment.received",
                        "correlation_key": "order-{{ input.order_id }}", "timeout": 600}),
]

INVALID: list[tuple[str, dict[str, Any], str]] = [
    ("HttpRequest", {"method": "GET"}, "data.url"),
    ("HttpRequest", {"url": "shop.example/orders"}, "data.url"),
    ("HttpRequest", {"url": "https://x", "method": "FETCH"}, "data.method"),
    ("HttpRequest", {"url": "https://x", "json": {}, "body": "raw"}, "data.body"),
    ("HttpRequest", {"url": "https://x", "auth": {"type": "basic"}}, "data.auth.secret"),
    ("HttpRequest", {"url": "https://x", "expected_status": 999}, "data.expected_status"),
    ("DatabaseQuery", {"connection": "db", "sql": "select 1", "max_rows": 0}, "data.max_rows"),
    ("DatabaseQuery", {"connection": "db", "sql": "select * from t where id = {{ input.id }}"},
     "data.sql"),
    ("DatabaseQuery", {"connection": "db", "sql": "select 1", "mode": "admin"}, "data.mode"),
    ("EmailNotification", {"to": [], "subject": "x"}, "data.to"),
    ("EmailNotification", {"to": ["ops"], "subject": "x"}, "data.to[0]"),
    ("EmailNotification", {"to": ["a@example.com"]}, "data.subject"),
    ("FileOperation", {"action": "write", "path": "a.txt"}, "data.content"),
    ("FileOperation", {"action": "read", "path": "../etc/passwd"}, "data.path"),
    ("FileOperation", {"action": "move", "path": "a"}, "data.action"),
    ("FtpTransfer", {"connection": "ftp", "action": "download", "remote_path": "/a"},
     "data.local_path"),
    ("FtpTransfer", {"connection": "ftp://user@host", "action": "list", "remote_path": "/"},
     "data.connection"),
    ("Conditional", {}, "data"),
    ("Conditional", {"expression": "a", "cases": [{"name": "x", "expression": "b"}]}, "data"),
    ("Conditional", {"cases": [{"name": "a", "expression": "x"}, {"name": "a", "expression": "y"}]},
     "data.cases[1].name"),
    ("Conditional", {"cases": [{"name": "default", "expression": "x"}]}, "data.cases[0].name"),
    ("Conditional", {"cases": [{"name": "Big One", "expression": "x"}]}, "data.cases[0].name"),
    ("Loop", {"items": "input.rows"}, "data.body"),
    ("Loop", {"items": "input.rows", "body": {"workflow": "x"}, "concurrency": 0},
     "data.concurrency"),
    ("Loop", {"items": "input.rows", "body": {"nodes": []}}, "data.body.nodes"),
    ("Loop", {"items": "input.rows", "body": {"workflow": "x", "nodes": []}}, "data.body.nodes"),
    ("Delay", {}, "data"),
    ("Delay", {"seconds": -1}, "data.seconds"),
    ("Delay", {"until": "2030-01-31T09:00:00"}, "data.until"),
    ("Delay", {"until": "next tuesday"}, "data.until"),
    ("Variable", {"set": {}}, "data.set"),
    ("Variable", {"set": {"bad-name": 1}}, "data.set"),
    ("Transform", {"template": {}, "jmespath": "a"}, "data"),
    ("Transform", {"template": {}, "source": "{{ input }}"}, "data.source"),
    ("Logger", {"message": "x", "level": "fatal"}, "data.level"),
    ("Logger", {}, "data.message"),
    ("Webhook", {"timeout": 0}, "data.timeout"),
    ("Webhook", {"methods": ["GET"]}, "data.methods[0]"),
    ("Timer", {"cron": "* * * *"}, "data.cron"),
    ("Timer", {"cron": "61 * * * *"}, "data.cron"),
    ("Timer", {"cron": "0 9 * * mon-fri", "timezone": "Mars/Olympus"}, "data.timezone"),
    ("Timer", {"at": "2030-01-31T09:00:00Z", "timezone": "UTC"}, "data.timezone"),
    ("Counter", {"scope": "workflow"}, "data.name"),
    ("Counter", {"name": "c", "increment": 1.5}, "data.increment"),
    ("Validator", {"value": 1, "schema": {"type": "integr"}}, "data.schema.type"),
    ("Validator", {"schema": {}}, "data.value"),
    ("Subworkflow", {"workflow": "Bad Name"}, "data.workflow"),
    ("Subworkflow", {"workflow": "x", "version": 0}, "data.version"),
    ("UserAction", {"assignee": "role:manager", "prompt": "ok?", "outcomes": ["yes", "no"],
                    "timeout": 60, "timeout_outcome": "maybe"}, "data.timeout_outcome"),
    ("UserAction", {"assignee": "ann", "prompt": "ok?", "outcomes": ["yes", "yes"]},
     "data.outcomes"),
    ("UserAction", {"assignee": "ann", "prompt": "ok?", "timeout_outcome": "done"},
     "data.timeout_outcome"),
    ("UserAction", {"assignee": "not a user", "prompt": "ok?"}, "data.assignee"),
    ("UserAction", {"assignee": "ann", "prompt": "ok?", "form": {"type": "nope"}},
     "data.form.type"),
    ("WaitForMessage", {"message_type": "payment"}, "data.correlation_key"),
    ("WaitForMessage", {"message_type": "has space", "correlation_key": "k"}, "data.message_type"),
]


def test_all_18_types_are_registered_with_their_metadata():
    registry = default_registry()
    assert len(BUILTIN_NODE_TYPES) == 18
    assert registry.names()[:18] == [node_type.name for node_type in BUILTIN_NODE_TYPES]
    for node_type in BUILTIN_NODE_TYPES:
        description = node_type.describe()
        assert description["data_schema"]["type"] == "object"
        assert description["data_schema"]["additionalProperties"] is False
        assert description["output_schema"]
        assert description["waits"] is (node_type.name in WAITING)


def test_every_type_has_valid_and_invalid_examples():
    names = {node_type.name for node_type in BUILTIN_NODE_TYPES}
    assert {name for name, _ in VALID} == names
    assert {name for name, _, _ in INVALID} == names


@pytest.mark.parametrize(("type_name", "data"), VALID)
def test_valid_data(type_name, data):
    # given a node of the type with realistic data
    report = node_validate({"id": "n", "type": type_name, "data": data})
    # then it has no problem
    assert report.as_dict()["errors"] == []


@pytest.mark.parametrize(("type_name", "data", "field"), INVALID)
def test_invalid_data_names_the_field(type_name, data, field):
    # given a node of the type with one thing wrong
    report = node_validate({"id": "n", "type": type_name, "data": data})
    # then the problem is invalid_node_data at that field, and concerns the node
    assert [(p.code, p.field, p.node) for p in report.errors] == [("invalid_node_data", field, "n")]
    assert report.errors[0].message.startswith("Node 'n': ")


def test_node_validate_checks_templates_and_expressions():
    report = node_validate({"type": "Conditional", "data": {"expression": "{{ x >"}})
    assert [(p.code, p.field, p.node) for p in report.errors] == [
        ("expression_syntax", "data.expression", None)
    ]
    report = node_validate({"type": "Logger", "data": {"message": "{% for %}"}})
    assert [(p.code, p.field) for p in report.errors] == [("template_syntax", "data.message")]


def test_node_validate_unknown_type_and_missing_type():
    assert [p.code for p in node_validate({"type": "Teleport"}).errors] == ["unknown_node_type"]
    assert [p.field for p in node_validate({"data": {}}).errors] == ["type"]


def test_node_validate_checks_a_loop_body():
    body = {"nodes": [{"id": "a", "type": "Logger", "data": {}}]}
    report = node_validate({"id": "each", "type": "Loop", "data": {"items": "x", "body": body}})
    assert [(p.node, p.field) for p in report.errors] == [
        ("each/a", "data.body.nodes[0].data.message")
    ]


@pytest.mark.parametrize(
    ("type_name", "data", "handles"),
    [
        ("Conditional", {"expression": "x"}, ["true", "false"]),
        ("Conditional", {"cases": [{"name": "a", "expression": "x"}]}, ["a", "default"]),
        ("Validator", {"value": 1, "schema": {}, "mode": "branch"}, ["valid", "invalid"]),
        ("Validator", {"value": 1, "schema": {}}, []),
        ("UserAction", {"assignee": "ann", "prompt": "?", "outcomes": ["go", "no"]}, ["go", "no"]),
        ("UserAction", {"assignee": "ann", "prompt": "?"}, ["done"]),
        ("HttpRequest", {"url": "https://x"}, []),
    ],
)
def test_branch_handles(type_name, data, handles):
    assert default_registry().get(type_name).branch_handles(data) == handles


def test_describe_says_which_handles_depend_on_data():
    registry = default_registry()
    conditional = registry.get("Conditional").describe()["handles"]
    assert conditional["static"] == ["true", "false"] and conditional["dynamic"] is True
    assert "cases" in conditional["depends_on"]
    assert registry.get("Logger").describe()["handles"] == {"static": [], "dynamic": False}
    assert registry.get("Conditional").describe()["expression_fields"] == [
        "expression", "cases[*].expression",
    ]


def test_describe_returns_a_copy_of_the_schemas():
    node_type = default_registry().get("Logger")
    node_type.describe()["data_schema"]["properties"].clear()
    assert "message" in node_type.data_schema["properties"]


@pytest.mark.parametrize(
    ("expression", "valid"),
    [
        ("0 9 * * 1-5", True),
        ("*/5 * * * *", True),
        ("0 0 1,15 * sun", True),
        ("@hourly", True),
        ("0 9 * *", False),
        ("0 24 * * *", False),
        ("0 9 * * 1-9", False),
        ("0 9 * * 5-1", False),
        ("*/0 * * * *", False),
        ("0 9 * foo *", False),
    ],
)
def test_cron_check(expression, valid):
    assert (cron_problem(expression) is None) is valid


WITHOUT_EXECUTOR = [t for t in BUILTIN_NODE_TYPES if t.execute is NodeType.execute]


@pytest.mark.parametrize("node_type", WITHOUT_EXECUTOR, ids=lambda node_type: node_type.name)
def test_a_type_without_an_executor_says_so_by_name(node_type):
    with pytest.raises(NotImplementedError, match=node_type.__name__):
        node_type().execute(context={})
