"""The schedules API: CRUD, validation naming the field, pause and resume, preview, runs,
permissions."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from workflows.models import Schedule
from workflows.services import workflow_create
from workflows.triggers.schedules import schedules_fire

pytestmark = pytest.mark.django_db


@pytest.fixture
def workflow(definition):
    return workflow_create(definition=definition(name="report"), actor=None)


def create(client, target, **fields):
    body = {"workflow": str(target.pk), "cron": "30 2 * * *", "timezone": "Europe/Berlin",
            **fields}
    return client.post("/api/schedules", body, format="json")


def test_editor_creates_a_schedule_and_a_viewer_reads_it(client_for, designer, viewer, workflow):
    # when a designer creates a daily Berlin schedule
    response = create(client_for(designer), workflow, name="nightly", input={"day": "today"},
                      overlap="allow", catch_up="all", catch_up_limit=3, retry_attempts=2,
                      retry_delay=30, timeout=600)
    # then it is stored with its next fire time, and a viewer can list and read it
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["workflow"] == str(workflow.pk) and body["workflow_name"] == "tests/report"
    assert (body["name"], body["cron"], body["timezone"]) == ("nightly", "30 2 * * *",
                                                              "Europe/Berlin")
    assert body["enabled"] is True and body["next_fire_at"]
    assert (body["overlap"], body["catch_up"], body["catch_up_limit"]) == ("allow", "all", 3)
    assert (body["retry_attempts"], body["retry_delay"], body["timeout"]) == (2, 30, 600)
    viewer_client = client_for(viewer)
    listed = viewer_client.get("/api/schedules", {"workflow": str(workflow.pk),
                                                  "enabled": "true"})
    assert listed.status_code == 200 and listed.json()["count"] == 1
    assert viewer_client.get(f"/api/schedules/{body['id']}").json()["input"] == {"day": "today"}


@pytest.mark.parametrize(("fields", "field", "code"), [
    ({"cron": "99 * * * *"}, "cron", "schedule_invalid"),
    ({"timezone": "Europe/Atlantis"}, "timezone", "schedule_invalid"),
    ({"overlap": "sometimes"}, "overlap", "invalid_input"),
    ({"catch_up_limit": 0}, "catch_up_limit", "invalid_input"),
    ({"input": "not an object"}, "input", "invalid_input"),
    ({"workflow": "00000000-0000-0000-0000-000000000000"}, "workflow", "invalid_input"),
    ({"workflow": "not-a-uuid"}, "workflow", "invalid_input"),
])
def test_bad_input_is_a_400_naming_the_field(client_for, designer, workflow, fields, field, code):
    response = create(client_for(designer), workflow, **fields)
    assert response.status_code == 400, response.json()
    body = response.json()
    assert body["code"] == code and field in body["details"]["fields"]
    assert field in body["message"]


def test_a_taken_name_is_a_409(client_for, designer, workflow):
    client = client_for(designer)
    assert create(client, workflow).status_code == 201
    response = create(client, workflow)
    assert response.status_code == 409 and response.json()["code"] == "schedule_exists"


def test_update_partial_update_and_delete(client_for, designer, workflow):
    client = client_for(designer)
    schedule_id = create(client, workflow).json()["id"]
    # a partial update changes only what it sends
    response = client.patch(f"/api/schedules/{schedule_id}", {"cron": "0 6 * * 1-5"},
                            format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["cron"] == "0 6 * * 1-5"
    assert response.json()["timezone"] == "Europe/Berlin"
    # a bad zone in an update names the field
    response = client.patch(f"/api/schedules/{schedule_id}", {"timezone": "CEST"},
                            format="json")
    assert response.status_code == 400 and "timezone" in response.json()["details"]["fields"]
    # a full update replaces the fields
    response = client.put(f"/api/schedules/{schedule_id}",
                          {"workflow": str(workflow.pk), "cron": "@hourly"}, format="json")
    assert response.status_code == 200
    assert response.json()["timezone"] == "UTC" and response.json()["cron"] == "@hourly"
    # and delete removes it
    assert client.delete(f"/api/schedules/{schedule_id}").status_code == 204
    assert not Schedule.objects.exists()


def test_pause_and_resume(client_for, designer, workflow):
    client = client_for(designer)
    schedule_id = create(client, workflow).json()["id"]
    paused = client.post(f"/api/schedules/{schedule_id}/pause")
    assert paused.status_code == 200
    assert paused.json()["enabled"] is False and paused.json()["next_fire_at"] is None
    resumed = client.post(f"/api/schedules/{schedule_id}/resume")
    assert resumed.status_code == 200
    assert resumed.json()["enabled"] is True and resumed.json()["next_fire_at"]


def test_preview_gives_the_next_times_local_and_utc(client_for, viewer, designer, workflow):
    schedule_id = create(client_for(designer), workflow).json()["id"]
    response = client_for(viewer).get(f"/api/schedules/{schedule_id}/preview", {"count": 3})
    assert response.status_code == 200
    body = response.json()
    assert body["timezone"] == "Europe/Berlin" and len(body["fire_times"]) == 3
    first = body["fire_times"][0]
    local, utc = datetime.fromisoformat(first["local"]), datetime.fromisoformat(first["utc"])
    assert local == utc and utc.utcoffset().total_seconds() == 0
    assert local.strftime("%H:%M") in {"02:30", "03:00"}
    default = client_for(viewer).get(f"/api/schedules/{schedule_id}/preview")
    assert len(default.json()["fire_times"]) == 10


def test_a_cron_not_saved_yet_is_previewed_in_its_zone(client_for, viewer):
    # when a viewer previews a cron in Tokyo before any schedule has it
    response = client_for(viewer).get("/api/schedules/preview", {
        "cron": "15 9 * * *", "timezone": "Asia/Tokyo", "count": 2})
    # then its next two times come back, 09:15 in Tokyo (00:15 UTC)
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["cron"], body["timezone"]) == ("15 9 * * *", "Asia/Tokyo")
    assert [datetime.fromisoformat(time["local"]).strftime("%H:%M%z")
            for time in body["fire_times"]] == ["09:15+0900", "09:15+0900"]
    assert datetime.fromisoformat(body["fire_times"][0]["utc"]).strftime("%H:%M") == "00:15"
    assert not Schedule.objects.exists()


@pytest.mark.parametrize(("query", "field"), [
    ({"cron": "61 * * * *"}, "cron"), ({}, "cron"),
    ({"cron": "@daily", "timezone": "Mars/Olympus"}, "timezone"),
    ({"cron": "@daily", "count": "0"}, "count"),
])
def test_a_cron_preview_names_what_it_refuses(client_for, viewer, nobody, query, field):
    response = client_for(viewer).get("/api/schedules/preview", query)
    assert response.status_code == 400 and field in response.json()["details"]["fields"]
    assert client_for(nobody).get("/api/schedules/preview", {"cron": "@daily"}).status_code \
        == 403


@pytest.mark.parametrize("count", ["0", "101", "many"])
def test_preview_refuses_a_count_out_of_range(client_for, designer, workflow, count):
    client = client_for(designer)
    schedule_id = create(client, workflow).json()["id"]
    response = client.get(f"/api/schedules/{schedule_id}/preview", {"count": count})
    assert response.status_code == 400 and "count" in response.json()["details"]["fields"]


def test_runs_are_listed_newest_first_and_paginated(client_for, designer, viewer, workflow):
    # given a schedule that fired twice
    client = client_for(designer)
    schedule_id = create(client, workflow, cron="* * * * *", overlap="skip").json()["id"]
    t0 = datetime(2027, 1, 1, tzinfo=UTC)
    Schedule.objects.filter(pk=schedule_id).update(next_fire_at=t0)
    schedules_fire(now=t0)
    schedules_fire(now=t0.replace(minute=1))
    # when a viewer lists the runs, one per page
    response = client_for(viewer).get(f"/api/schedules/{schedule_id}/runs", {"page_size": 1})
    # then the newest (skipped: the first still runs) comes first
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2 and body["next"]
    newest = body["results"][0]
    assert newest["outcome"] == "skipped" and newest["execution"] is None
    assert newest["fire_at"].startswith("2027-01-01T00:01")
    older = client_for(viewer).get(f"/api/schedules/{schedule_id}/runs",
                                   {"page_size": 1, "page": 2}).json()["results"][0]
    assert older["outcome"] == "started" and older["execution_status"] == "running"
    # and a parameter the runs do not read is refused, naming it
    unread = client_for(viewer).get(f"/api/schedules/{schedule_id}/runs", {"outcome": "started"})
    assert unread.status_code == 400 and list(unread.json()["details"]["fields"]) == ["outcome"]


def test_reading_needs_workflow_read_and_writing_workflow_write(
    client_for, anonymous, nobody, viewer, designer, workflow
):
    schedule_id = create(client_for(designer), workflow).json()["id"]
    assert anonymous.get("/api/schedules").status_code == 401
    assert client_for(nobody).get("/api/schedules").status_code == 403
    assert client_for(nobody).get(f"/api/schedules/{schedule_id}/runs").status_code == 403
    viewer_client = client_for(viewer)
    assert viewer_client.get(f"/api/schedules/{schedule_id}/preview").status_code == 200
    assert create(viewer_client, workflow, name="mine").status_code == 403
    assert viewer_client.post(f"/api/schedules/{schedule_id}/pause").status_code == 403
    assert viewer_client.delete(f"/api/schedules/{schedule_id}").status_code == 403


def test_the_schema_documents_the_endpoints(client_for, viewer):
    response = client_for(viewer).get("/api/schema/",
                                      HTTP_ACCEPT="application/vnd.oai.openapi+json")
    schema = json.loads(response.content)
    paths = schema["paths"]
    assert {"/api/schedules", "/api/schedules/{id}", "/api/schedules/{id}/pause",
            "/api/schedules/{id}/resume", "/api/schedules/{id}/preview",
            "/api/schedules/preview",
            "/api/schedules/{id}/runs"} <= set(paths)
    assert "400" in paths["/api/schedules"]["post"]["responses"]


def test_an_editor_without_execute_cannot_arm_a_schedule(client_for, editor, designer,
                                                          workflow):
    # given an editor (workflow.write, no workflow.execute) and a paused schedule
    client = client_for(editor)
    paused = create(client_for(designer), workflow, name="paused", enabled=False).json()
    armed = create(client_for(designer), workflow, name="armed").json()
    # when the editor creates an enabled schedule, resumes or enables the paused one, or
    # changes the input of the enabled one
    refused = [
        create(client, workflow, name="mine"),
        client.post(f"/api/schedules/{paused['id']}/resume"),
        client.patch(f"/api/schedules/{paused['id']}", {"enabled": True}, format="json"),
        client.patch(f"/api/schedules/{armed['id']}", {"input": {"x": 1}}, format="json"),
    ]
    # then each is refused, and nothing that fires was made
    for response in refused:
        assert response.status_code == 403, response.json()
        assert response.json()["code"] == "permission_denied"
        assert response.json()["details"] == {"permission": "workflow.execute"}
    assert list(Schedule.objects.filter(enabled=True).values_list("name", flat=True)) == [
        "armed"]
    assert Schedule.objects.get(name="armed").input == {}
    # while stopping runs and making a paused schedule need workflow.write only
    assert create(client, workflow, name="draft", enabled=False).status_code == 201
    assert client.post(f"/api/schedules/{armed['id']}/pause").status_code == 200
