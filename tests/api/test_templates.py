"""The templates API: list, read, instantiate; parameter errors name the parameter."""

from __future__ import annotations

import pytest

from workflows.models import Workflow

pytestmark = pytest.mark.django_db

NAMES = ["approval-escalation", "etl-loop", "http-alert", "scheduled-report", "webhook-fanout"]


def test_a_viewer_lists_the_templates(client_for, viewer):
    response = client_for(viewer).get("/api/templates")
    assert response.status_code == 200
    body = response.json()
    assert sorted(template["name"] for template in body) == NAMES
    alert = next(template for template in body if template["name"] == "http-alert")
    url = next(parameter for parameter in alert["parameters"] if parameter["name"] == "url")
    assert url["type"] == "string" and url["required"] is False and url["description"]


def test_a_template_shows_its_definition_and_a_preview(client_for, viewer):
    body = client_for(viewer).get("/api/templates/scheduled-report").json()
    assert body["title"] == "Scheduled report"
    assert body["definition"]["nodes"][0]["data"]["sql"] == "[[ sql ]]"
    assert body["preview"]["nodes"][0]["data"]["sql"] == "SELECT 1 AS value"
    assert body["schedule"]["cron"] == "[[ cron ]]"


def test_an_unknown_template_is_404(client_for, viewer):
    response = client_for(viewer).get("/api/templates/nope")
    assert response.status_code == 404
    assert response.json()["code"] == "template_not_found"


@pytest.mark.parametrize("name", NAMES)
def test_an_editor_instantiates_every_template_with_defaults(client_for, editor, name):
    response = client_for(editor).post(f"/api/templates/{name}/instantiate",
                                       {"name": f"my-{name}"}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["name"] == f"my-{name}" and body["namespace"] == "default"
    assert body["version"] == 1 and body["definition"]["nodes"]
    assert f"template:{name}" in body["tags"]


def test_instantiate_with_parameters_and_namespace(client_for, editor):
    response = client_for(editor).post("/api/templates/http-alert/instantiate", {
        "name": "api-health", "namespace": "ops",
        "parameters": {"url": "https://api.example.com/health", "method": "HEAD"},
    }, format="json")
    assert response.status_code == 201, response.json()
    check = response.json()["definition"]["nodes"][0]
    assert check["data"]["url"] == "https://api.example.com/health"
    assert check["data"]["method"] == "HEAD"


@pytest.mark.parametrize(("parameters", "field"), [
    ({"unknown": 1}, "parameters.unknown"),
    ({"method": "BREW"}, "parameters.method"),
    ({"recipients": "ops@example.com"}, "parameters.recipients"),
    ({"url": 42}, "parameters.url"),
])
def test_bad_parameters_are_400_naming_the_parameter(client_for, editor, parameters, field):
    response = client_for(editor).post("/api/templates/http-alert/instantiate",
                                       {"name": "bad", "parameters": parameters}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_parameters"
    assert field in body["details"]["fields"]
    assert field.split(".")[1] in body["message"]
    assert not Workflow.objects.filter(name="bad").exists()


def test_a_bad_workflow_name_is_400(client_for, editor):
    response = client_for(editor).post("/api/templates/http-alert/instantiate",
                                       {"name": "Bad Name"}, format="json")
    assert response.status_code == 400
    assert "name" in response.json()["details"]["fields"]


def test_a_taken_name_is_409(client_for, editor):
    client = client_for(editor)
    client.post("/api/templates/http-alert/instantiate", {"name": "twice"}, format="json")
    response = client.post("/api/templates/http-alert/instantiate", {"name": "twice"},
                           format="json")
    assert response.status_code == 409


def test_a_parameter_that_breaks_the_definition_is_reported_like_any_definition(
        client_for, editor):
    # a parameter type-checks but makes the expression unparseable: validation reports it
    response = client_for(editor).post("/api/templates/http-alert/instantiate", {
        "name": "broken", "parameters": {"alert_when": "nodes.check.status >>>"},
    }, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_definition"


def test_instantiating_needs_workflow_write(client_for, viewer, anonymous):
    response = client_for(viewer).post("/api/templates/http-alert/instantiate",
                                       {"name": "x"}, format="json")
    assert response.status_code == 403
    assert anonymous.get("/api/templates").status_code == 401
