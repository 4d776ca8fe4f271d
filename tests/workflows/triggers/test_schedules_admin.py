"""The schedules admin: edits go through the services, pause and resume actions, runs
read-only."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from monitoring.models import AuditLog
from workflows.models import Schedule
from workflows.services import workflow_create
from workflows.triggers.schedules import schedule_create, schedules_fire

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator_client(client, wf_admin):
    wf_admin.is_staff = True
    wf_admin.save()
    client.force_login(wf_admin)
    return client


@pytest.fixture
def workflow(definition):
    return workflow_create(definition=definition(name="admin-sched"), actor=None)


def form(workflow, **fields):
    return {"workflow": workflow.pk, "name": "default", "cron": "30 2 * * *",
            "timezone": "Europe/Berlin", "enabled": "on", "input": "{}", "overlap": "skip",
            "catch_up": "latest", "catch_up_limit": "10", "retry_attempts": "0",
            "retry_delay": "60", "timeout": "", "source": "", **fields}


def test_list_shows_the_operator_columns(operator_client, workflow):
    schedule_create(workflow=workflow, cron="30 2 * * *", timezone="Europe/Berlin", actor=None)
    page = operator_client.get("/admin/workflow/schedule/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "admin-sched" in text and "30 2 * * *" in text and "Europe/Berlin" in text


def test_adding_in_the_admin_goes_through_the_service(operator_client, workflow, wf_admin):
    response = operator_client.post("/admin/workflow/schedule/add/", form(workflow))
    assert response.status_code == 302, response.content.decode()[:3000]
    schedule = Schedule.objects.get()
    assert schedule.next_fire_at is not None
    entry = AuditLog.objects.get(object_type="schedule", action="create")
    assert entry.actor == wf_admin


def test_a_bad_zone_or_cron_is_shown_on_its_field(operator_client, workflow):
    response = operator_client.post("/admin/workflow/schedule/add/",
                                    form(workflow, cron="70 * * * *", timezone="Moon/Base"))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "cron" in errors and "timezone" in errors
    assert not Schedule.objects.exists()


def test_editing_in_the_admin_goes_through_the_service(operator_client, workflow):
    schedule = schedule_create(workflow=workflow, cron="30 2 * * *", actor=None)
    response = operator_client.post(f"/admin/workflow/schedule/{schedule.pk}/change/",
                                    form(workflow, cron="0 5 * * *", timezone="UTC"))
    assert response.status_code == 302, response.content.decode()[:3000]
    schedule.refresh_from_db()
    assert schedule.cron == "0 5 * * *" and schedule.next_fire_at.hour == 5
    assert AuditLog.objects.filter(object_type="schedule", action="update").exists()


def test_pause_and_resume_actions(operator_client, workflow):
    schedule = schedule_create(workflow=workflow, cron="@hourly", actor=None)
    operator_client.post("/admin/workflow/schedule/",
                         {"action": "pause", "_selected_action": [schedule.pk]})
    schedule.refresh_from_db()
    assert not schedule.enabled and schedule.next_fire_at is None
    operator_client.post("/admin/workflow/schedule/",
                         {"action": "resume", "_selected_action": [schedule.pk]})
    schedule.refresh_from_db()
    assert schedule.enabled and schedule.next_fire_at is not None


def test_runs_are_read_only(operator_client, workflow):
    schedule = schedule_create(workflow=workflow, cron="* * * * *", actor=None)
    Schedule.objects.filter(pk=schedule.pk).update(next_fire_at=datetime(2027, 1, 1, tzinfo=UTC))
    schedules_fire(now=datetime(2027, 1, 1, tzinfo=UTC))
    run = schedule.runs.get()
    page = operator_client.get(f"/admin/workflow/schedulerun/?schedule__id__exact={schedule.pk}")
    assert page.status_code == 200 and "started" in page.content.decode()
    assert operator_client.get(f"/admin/workflow/schedulerun/{run.pk}/change/").status_code == 200
    assert operator_client.get("/admin/workflow/schedulerun/add/").status_code == 403
    detail = operator_client.get(f"/admin/workflow/schedule/{schedule.pk}/change/")
    assert "1 run(s)" in detail.content.decode()
