"""The audit log API: read-only, for workflow.admin, filterable."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_admin_reads_and_filters_the_audit_log(client_for, wf_admin, editor, definition):
    client_for(editor).post("/api/workflows", {"definition": definition()}, format="json")
    client_for(editor).post(
        "/api/workflows", {"definition": definition(name="other")}, format="json"
    )
    client = client_for(wf_admin)
    everything = client.get("/api/audit").json()
    assert everything["count"] == 2
    entry = everything["results"][0]
    assert entry["actor"] == "editor" and entry["action"] == "create"
    assert entry["object_type"] == "workflow" and entry["after"]["name"] == "other"
    filtered = client.get("/api/audit", {"search": "tests/hello"}).json()
    assert [e["object_repr"] for e in filtered["results"]] == ["tests/hello"]
    by_action = client.get("/api/audit", {"action": "delete"}).json()
    assert by_action["count"] == 0


def test_audit_is_read_only(client_for, wf_admin):
    response = client_for(wf_admin).post("/api/audit", {}, format="json")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


def test_bad_filter_value_names_the_field(client_for, wf_admin):
    response = client_for(wf_admin).get("/api/audit", {"since": "yesterday-ish"})
    assert response.status_code == 400
    assert "since" in response.json()["details"]["fields"]


def test_audit_needs_admin(client_for, editor, anonymous):
    assert client_for(editor).get("/api/audit").status_code == 403
    assert anonymous.get("/api/audit").status_code == 401
