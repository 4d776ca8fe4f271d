"""Secrets in a running workflow: usable where a credential goes, derivable nowhere else."""

from __future__ import annotations

import json
import sqlite3

import pytest

from executions.models import ExecutionLog, ExternalCall
from tests.engine import run
from workflows import services as workflow_services

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services,
              pytest.mark.usefixtures("worker")]

TOKEN = "hunter2-token-5f1c"


@pytest.fixture
def api_key(db) -> str:
    workflow_services.secret_create(name="api_key", value=TOKEN, actor=None)
    return "api_key"


def _stored(execution) -> str:
    """Everything the run stored: its output, variables and error, each node's output and
    error, its log entries and its external call records, as one text."""
    execution.refresh_from_db()
    rows = [
        execution.output, execution.variables, execution.error,
        *[(node.output, node.error) for node in execution.nodes.all()],
        *[(entry.message, entry.data)
          for entry in ExecutionLog.objects.filter(execution=execution)],
        *[(call.request, call.response) for call in
          ExternalCall.objects.filter(execution_id=execution.pk)],
    ]
    return json.dumps(rows, default=str)


def _derivations(text: str) -> list[str]:
    return [text, text[::-1], text[:6], text.upper(), json.dumps(list(text))[:30]]


@pytest.mark.parametrize(("node_type", "data", "field"), [
    ("Transform", {"template": {"v": "{{ secrets[input.name] | reverse }}"}}, "data.template"),
    ("Transform", {"template": {"v": "{{ secrets[input.name] | list }}"}}, "data.template"),
    ("Transform", {"template": {"v": "{{ secrets[input.name][:6] }}"}}, "data.template"),
    ("Transform", {"template": "x {{ secrets[input.name] | upper }}"}, "data.template"),
    ("Transform", {"template": "{{ secrets[input.name] }}"}, "data.template"),
    ("Variable", {"set": {"v": "{{ secrets[input.name] | reverse | join }}"}}, "data.set"),
    ("Logger", {"message": "token {{ secrets[input.name] }}"}, "data.message"),
])
def test_a_secret_reshaped_outside_a_credential_field_fails_the_node_and_is_stored_nowhere(
        api_key, worker, node_type, data, field):
    # given a node that reads a secret where no credential goes (by a computed name, which
    # saving cannot see) and turns it into text
    definition = {"name": "leak", "namespace": "secrets",
                  "nodes": [{"id": "leak", "type": node_type, "data": data}], "edges": []}
    # when it runs
    execution = run(definition, {"name": api_key})
    # then the node fails with a validation fault naming the field, not retried
    assert execution.status == "failed"
    node = execution.nodes.get(node_id="leak")
    assert (node.error["fault"], node.attempt) == ("validation", 1)
    assert field in node.error["message"] and "secrets.api_key" in node.error["message"]
    # and neither the secret nor a trivial derivation of it is stored or logged anywhere
    stored = _stored(execution)
    worker_log = "\n".join(worker.lines())
    for derived in _derivations(TOKEN):
        assert derived not in stored
        assert derived not in worker_log


def test_jmespath_in_a_transform_does_not_reach_secrets(api_key):
    # given a Transform querying the context for the secret
    definition = {"name": "jmes", "namespace": "secrets", "nodes": [
        {"id": "peek", "type": "Variable", "data": {"set": {"x": 1}}},
        {"id": "leak", "type": "Transform",
         "data": {"jmespath": "{reversed: reverse(secrets.api_key), plain: secrets.api_key, "
                              "x: vars.x}"}},
    ], "edges": [{"source": "peek", "target": "leak"}]}
    # when it runs
    execution = run(definition)
    # then the query sees no `secrets` (reverse(null) is a type error), and nothing leaks
    node = execution.nodes.get(node_id="leak")
    assert execution.status == "failed" and node.error["fault"] == "validation"
    assert "data.jmespath" in node.error["message"]
    for derived in _derivations(TOKEN):
        assert derived not in _stored(execution)


def test_a_secret_in_a_header_reaches_the_peer_and_an_echo_is_redacted(api_key, http_peer):
    from tests.executions.conftest import Answer

    # given a peer that echoes the header it got, and a request carrying the secret in one
    http_peer.script("/echo", Answer(200, json={"you_sent": f"key {TOKEN}"}))
    definition = {"name": "header", "namespace": "secrets", "nodes": [
        {"id": "call", "type": "HttpRequest",
         "data": {"url": http_peer.url("/echo"), "headers": {"X-Api-Key": "{{ secrets.api_key }}"},
                  "query": {"key": "{{ secrets.api_key }}"}}},
    ], "edges": []}
    # when it runs
    execution = run(definition)
    # then the peer got the credential, and the stored answer does not hold it
    assert execution.status == "completed", execution.error
    [received] = http_peer.requests_to("/echo")
    assert received.headers["x-api-key"] == TOKEN and received.query == f"key={TOKEN}"
    assert execution.output["call"]["body"] == {"you_sent": "key ***"}
    assert TOKEN not in _stored(execution)


def test_a_database_connection_is_read_through_the_redacting_view(tmp_path):
    # given a SQLite database whose URL is the connection secret, and a query that returns
    # text equal to that URL (a driver or a table quoting the connection back)
    path = tmp_path / "scratch.sqlite3"
    sqlite3.connect(path).close()
    url = f"sqlite:///{path}"
    workflow_services.secret_create(name="scratch_db", value=url, actor=None)
    definition = {"name": "db", "namespace": "secrets", "nodes": [
        {"id": "query", "type": "DatabaseQuery",
         "data": {"connection": "scratch_db", "sql": "SELECT ? AS echoed",
                  "params": "{{ [input.url] }}"}},
    ], "edges": []}
    # when it runs
    execution = run(definition, {"url": url})
    # then the value the node read as its credential is redacted in what is stored
    assert execution.status == "completed", execution.error
    assert execution.output["query"]["rows"] == [{"echoed": "***"}]



def test_the_record_of_an_external_call_holds_no_secret_the_node_read(api_key):
    from executions import services
    from executions.services.external import external_call
    from tests.engine import workflow_from
    from workflows.nodes.context import NodeContext

    # given a node attempt that read a secret and puts it in its call's request and answer
    flow = workflow_from({"name": "record", "namespace": "secrets", "nodes": [
        {"id": "call", "type": "Logger", "data": {"message": "x"}}], "edges": []})
    execution, _ = services.execution_start(workflow=flow, input={})
    context = NodeContext(execution_id=str(execution.pk), node_id="call",
                          node_type="HttpRequest", attempt=1, raw_data={}, scope={},
                          run_external=external_call)
    token = context.secret(api_key, field="auth.secret")
    # when the call is made and recorded
    context.external_call({"origin": f"https://user:{token}@peer"},
                          lambda key: {"echo": f"Bearer {token}"})
    # then neither the request nor the answer recorded holds it
    call = ExternalCall.objects.get(execution_id=execution.pk)
    assert call.request == {"origin": "https://user:***@peer"}
    assert call.response == {"echo": "Bearer ***"}


@pytest.mark.usefixtures("test_node_types")
def test_a_node_types_exception_quoting_a_secret_is_logged_redacted(api_key, worker):
    # given a node type that raises an exception quoting the secret it read
    definition = {"name": "careless", "namespace": "secrets", "nodes": [
        {"id": "oops", "type": "Careless", "data": {"secret": api_key}}], "edges": []}
    # when it runs
    execution = run(definition)
    # then the node failed as a defect, and neither its error nor the worker's log line
    # (with the traceback) holds the secret
    node = execution.nodes.get(node_id="oops")
    assert node.error["fault"] == "fatal" and "could not log in with ***" in node.error["message"]
    worker.wait_idle()
    lines = [line for line in worker.lines() if "could not log in with" in line]
    assert lines and all(TOKEN not in line for line in lines)
