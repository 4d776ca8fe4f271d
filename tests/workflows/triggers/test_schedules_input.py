"""A schedule's input is checked against its workflow's inputs schema when the schedule is
saved (API, admin, workflow files), not first when it fires."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.workflows.triggers.test_sync import sync, write
from workflows.models import Schedule
from workflows.services import workflow_create
from workflows.triggers.schedules import ScheduleInvalidError, schedule_create

pytestmark = pytest.mark.django_db

INPUTS = {"type": "object", "required": ["order_id"],
          "properties": {"order_id": {"type": "integer"}}}


@pytest.fixture
def workflow(definition):
    return workflow_create(definition=definition(name="typed", inputs=INPUTS), actor=None)


def test_the_api_refuses_an_input_the_schema_refuses(client_for, wf_admin, workflow):
    client = client_for(wf_admin)
    # when a schedule is created with an input the workflow refuses
    response = client.post("/api/schedules", {"workflow": str(workflow.pk), "cron": "@daily",
                                              "input": {"order_id": "one"}}, format="json")
    # then it is a 400 naming the input and why
    assert response.status_code == 400, response.json()
    assert "order_id" in response.json()["details"]["fields"]["input"][0]
    assert not Schedule.objects.exists()
    # and a valid one is created, then updates are checked the same way
    created = client.post("/api/schedules", {"workflow": str(workflow.pk), "cron": "@daily",
                                             "input": {"order_id": 1}}, format="json")
    assert created.status_code == 201, created.json()
    path = f"/api/schedules/{created.json()['id']}"
    patched = client.patch(path, {"input": {}}, format="json")
    assert patched.status_code == 400
    assert "'order_id' is a required property" in patched.json()["details"]["fields"]["input"][0]
    assert Schedule.objects.get().input == {"order_id": 1}


def test_the_admin_shows_the_refused_input_on_its_field(client, wf_admin, workflow):
    wf_admin.is_staff = True
    wf_admin.save()
    client.force_login(wf_admin)
    response = client.post("/admin/workflow/schedule/add/", {
        "workflow": workflow.pk, "name": "default", "cron": "30 2 * * *", "timezone": "UTC",
        "enabled": "on", "input": '{"order_id": "one"}', "overlap": "skip",
        "catch_up": "latest", "catch_up_limit": "10", "retry_attempts": "0",
        "retry_delay": "60", "timeout": "", "source": ""})
    assert response.status_code == 200
    assert "input" in response.context["adminform"].form.errors
    assert not Schedule.objects.exists()


def test_a_schedule_file_with_a_refused_input_is_an_error_on_its_line(tmp_path: Path, workflow):
    write(tmp_path, "schedules/typed.yml",
          "workflow: tests/typed\ncron: '@daily'\ninput: {order_id: one}\n")
    report = sync(tmp_path)
    [failed] = [result for result in report.results if result.state == "error"]
    assert failed.errors[0].field == "input" and "order_id" in failed.errors[0].message
    assert not Schedule.objects.exists()


def test_the_service_refuses_it_too(workflow):
    with pytest.raises(ScheduleInvalidError):
        schedule_create(workflow=workflow, cron="@daily", input={}, actor=None)
