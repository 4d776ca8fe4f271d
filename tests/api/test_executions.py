"""Starting executions over the API and reading them back."""

from __future__ import annotations

import pytest
from rest_framework.throttling import SimpleRateThrottle

from executions.models import Execution
from tests.engine import wait_for

pytestmark = pytest.mark.django_db

INPUTS = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}


@pytest.fixture
def flow(client_for, editor, definition):
    response = client_for(editor).post(
        "/api/workflows", {"definition": definition(inputs=INPUTS)}, format="json"
    )
    return response.json()["id"]


def test_execute_answers_202_with_the_pending_run(client_for, operator, flow):
    response = client_for(operator).post(
        f"/api/workflows/{flow}/execute", {"input": {"name": "ada"}}, format="json",
        HTTP_X_CORRELATION_ID="start-1",
    )
    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["status"] == "running" and body["version"] == 1
    assert body["input"] == {"name": "ada"} and body["started_by"] == "operator"
    assert body["correlation_id"] == "start-1"
    assert {n["node_id"] for n in body["nodes"]} == {"greet", "log"}


def test_input_that_breaks_the_schema_names_the_field(client_for, operator, flow):
    response = client_for(operator).post(
        f"/api/workflows/{flow}/execute", {"input": {"name": 5}}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_execution_input"
    assert "name" in response.json()["details"]["fields"]
    assert not Execution.objects.exists()


def test_a_nested_input_field_is_named_by_its_path(client_for, editor, operator, definition):
    # given a workflow whose input is a list of orders, each with an integer quantity
    inputs = {"type": "object", "properties": {"orders": {"type": "array", "items": {
        "type": "object", "properties": {"quantity": {"type": "integer"}}}}}}
    flow = client_for(editor).post("/api/workflows", {"definition": definition(
        name="orders", inputs=inputs)}, format="json").json()["id"]
    # when the second order's quantity is a text
    response = client_for(operator).post(f"/api/workflows/{flow}/execute", {
        "input": {"orders": [{"quantity": 1}, {"quantity": "two"}]}}, format="json")
    # then the field is named as every error names one, and nothing started
    assert response.status_code == 400
    assert list(response.json()["details"]["fields"]) == ["orders[1].quantity"]
    assert "'orders[1].quantity'" in response.json()["message"]
    assert not Execution.objects.exists()


def test_missing_required_input_is_400(client_for, operator, flow):
    response = client_for(operator).post(f"/api/workflows/{flow}/execute", {}, format="json")
    assert response.status_code == 400
    assert "input" in response.json()["details"]["fields"]


def test_bad_priority_names_the_field(client_for, operator, flow):
    response = client_for(operator).post(
        f"/api/workflows/{flow}/execute", {"input": {"name": "x"}, "priority": "urgent"},
        format="json",
    )
    assert response.status_code == 400 and "priority" in response.json()["details"]["fields"]


def test_same_idempotency_key_same_execution(client_for, operator, flow):
    client = client_for(operator)
    body = {"input": {"name": "x"}, "idempotency_key": "order-7"}
    first = client.post(f"/api/workflows/{flow}/execute", body, format="json").json()
    second = client.post(f"/api/workflows/{flow}/execute", body, format="json").json()
    assert first["id"] == second["id"] and Execution.objects.count() == 1


def test_an_idempotency_key_names_one_start(client_for, operator, editor, flow, definition):
    # given a run started with a key
    client = client_for(operator)
    first = client.post(f"/api/workflows/{flow}/execute",
                        {"input": {"name": "x"}, "idempotency_key": "order-8"}, format="json")
    other = client_for(editor).post("/api/workflows", {"definition": definition(
        name="other", inputs=INPUTS)}, format="json").json()["id"]
    # when the key is sent again with another input, or to start another workflow
    other_input = client.post(f"/api/workflows/{flow}/execute",
                              {"input": {"name": "y"}, "idempotency_key": "order-8"},
                              format="json")
    other_workflow = client.post(f"/api/workflows/{other}/execute",
                                 {"input": {"name": "x"}, "idempotency_key": "order-8"},
                                 format="json")
    # then each is refused naming the key, and neither answers the first run
    for response in (other_input, other_workflow):
        assert response.status_code == 409, response.json()
        assert response.json()["code"] == "idempotency_key_reused"
        assert list(response.json()["details"]["fields"]) == ["idempotency_key"]
        assert first.json()["id"] not in response.content.decode()
    assert Execution.objects.count() == 1


def test_inactive_workflow_is_409(client_for, editor, operator, flow):
    client_for(editor).patch(f"/api/workflows/{flow}", {"active": False}, format="json")
    response = client_for(operator).post(
        f"/api/workflows/{flow}/execute", {"input": {"name": "x"}}, format="json"
    )
    assert response.status_code == 409 and response.json()["code"] == "workflow_inactive"


def test_execute_needs_the_execute_permission(anonymous, client_for, editor, flow):
    body = {"input": {"name": "x"}}
    assert anonymous.post(f"/api/workflows/{flow}/execute", body, format="json").status_code == 401
    response = client_for(editor).post(f"/api/workflows/{flow}/execute", body, format="json")
    assert response.status_code == 403


def test_executions_are_throttled_per_user(client_for, operator, flow, monkeypatch):
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "execute", "2/min")
    client = client_for(operator)
    statuses = [
        client.post(f"/api/workflows/{flow}/execute", {"input": {"name": "x"}},
                    format="json").status_code
        for _ in range(3)
    ]
    assert statuses == [202, 202, 429]


def test_list_detail_logs_and_filters(client_for, operator, viewer, flow):
    client_for(operator).post(f"/api/workflows/{flow}/execute", {"input": {"name": "x"}},
                              format="json")
    reader = client_for(viewer)
    listing = reader.get("/api/executions", {"workflow": flow, "status": "running"}).json()
    assert listing["count"] == 1
    execution_id = listing["results"][0]["id"]
    assert "nodes" not in listing["results"][0]
    assert reader.get("/api/executions", {"status": "failed"}).json()["count"] == 0
    detail = reader.get(f"/api/executions/{execution_id}").json()
    assert len(detail["nodes"]) == 2
    logs = reader.get(f"/api/executions/{execution_id}/logs").json()
    assert [entry["event"] for entry in logs[:2]] == ["execution.pending", "execution.running"]
    bad = reader.get("/api/executions", {"status": "sleeping"})
    assert bad.status_code == 400 and "status" in bad.json()["details"]["fields"]


def test_cancel_over_the_api(client_for, operator, viewer, flow):
    client = client_for(operator)
    execution_id = client.post(f"/api/workflows/{flow}/execute", {"input": {"name": "x"}},
                               format="json").json()["id"]
    assert client_for(viewer).post(f"/api/executions/{execution_id}/cancel").status_code == 403
    response = client.delete(f"/api/executions/{execution_id}")
    assert response.status_code == 202 and response.json()["status"] == "cancelled"
    again = client.post(f"/api/executions/{execution_id}/cancel")
    assert again.status_code == 409 and again.json()["code"] == "illegal_transition"


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_an_execution_started_over_the_api_completes_on_a_worker(
    client_for, operator, flow, worker
):
    response = client_for(operator).post(
        f"/api/workflows/{flow}/execute", {"input": {"name": "ada"}}, format="json"
    )
    execution = wait_for(Execution.objects.get(pk=response.json()["id"]))
    assert execution.status == "completed"
    assert execution.output == {"log": {"logged": "Hello ada"}}
