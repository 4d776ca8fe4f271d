"""Node types API and single-node validation."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

BUILT_IN = {
    "HttpRequest", "DatabaseQuery", "EmailNotification", "FileOperation", "FtpTransfer",
    "Conditional", "Loop", "Delay", "Variable", "Transform", "Logger", "Webhook", "Timer",
    "Counter", "Validator", "Subworkflow", "UserAction", "WaitForMessage",
}
WAITING = {"Delay", "Timer", "UserAction", "WaitForMessage", "Webhook", "Subworkflow"}


def test_all_18_built_in_types_are_listed_with_metadata(client_for, viewer):
    response = client_for(viewer).get("/api/nodes/types")
    assert response.status_code == 200
    types = {item["name"]: item for item in response.json()}
    assert set(types) >= BUILT_IN
    for name in BUILT_IN:
        item = types[name]
        assert item["category"] and item["description"]
        assert item["data_schema"]["type"] == "object"
        assert item["waits"] is (name in WAITING)


def test_one_type_with_handles(client_for, viewer):
    response = client_for(viewer).get("/api/nodes/types/Conditional")
    assert response.status_code == 200
    assert "expression" in response.json()["data_schema"]["properties"]


def test_unknown_type_is_404(client_for, viewer):
    response = client_for(viewer).get("/api/nodes/types/Teleport")
    assert response.status_code == 404
    assert response.json()["code"] == "unknown_node_type"
    assert "HttpRequest" in response.json()["details"]["known"]


def test_validate_node_names_the_bad_field(client_for, viewer):
    response = client_for(viewer).post(
        "/api/nodes/validate",
        {"id": "fetch", "type": "HttpRequest", "data": {"method": "GET"}},
        format="json",
    )
    assert response.status_code == 200
    report = response.json()
    assert report["valid"] is False
    assert any(p["code"] == "invalid_node_data" and "url" in p["message"]
               for p in report["errors"])


def test_validate_good_node(client_for, viewer):
    response = client_for(viewer).post(
        "/api/nodes/validate",
        {"type": "HttpRequest", "data": {"url": "https://example.com/{{ input.id }}"}},
        format="json",
    )
    assert response.json()["valid"] is True


def test_validate_node_needs_a_type(client_for, viewer):
    response = client_for(viewer).post("/api/nodes/validate", {"data": {}}, format="json")
    assert response.status_code == 400
    assert "type" in response.json()["details"]["fields"]


@pytest.mark.parametrize("path", ["/api/nodes/types", "/api/nodes/types/Logger"])
def test_node_types_need_read_permission(anonymous, client_for, nobody, path):
    assert anonymous.get(path).status_code == 401
    assert client_for(nobody).get(path).status_code == 403


def test_node_validate_needs_read_permission(anonymous, client_for, nobody):
    body = {"type": "Logger", "data": {"message": "x"}}
    assert anonymous.post("/api/nodes/validate", body, format="json").status_code == 401
    assert client_for(nobody).post("/api/nodes/validate", body, format="json").status_code == 403
