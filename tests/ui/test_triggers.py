"""Schedules and webhooks: create, preview, pause and resume; a webhook URL shown once."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import expect

from executions.models import Execution
from tests.engine import wait_for, workflow_from
from tests.ui.conftest import serious_accessibility_violations
from workflows.models import Schedule, WebhookTrigger
from workflows.triggers.schedules import schedule_create
from workflows.triggers.webhooks import webhook_create

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def report():
    return workflow_from({"name": "report", "namespace": "triggers",
                          "nodes": [{"id": "made", "type": "Transform",
                                     "data": {"template": "{{ input.day }}"}}]})


def test_a_designer_creates_a_schedule_sees_its_times_and_pauses_it(open_page, designer,
                                                                    report, screenshot):
    # given the schedules page
    page = open_page(designer, "/triggers/")
    expect(page.get_by_text("No schedule starts a workflow yet.")).to_be_visible()

    # when the designer asks for a schedule with a cron that is not one
    page.get_by_role("button", name="New schedule").click()
    page.get_by_label("Workflow").first.select_option(label="triggers/report")
    page.get_by_label("Cron").fill("61 2 * * *")
    page.get_by_label("Time zone").fill("Europe/Berlin")
    page.get_by_label("Input of each run").fill('{"day": "today"}')
    # then the form says so as soon as typing pauses
    preview = page.locator(".cron-preview")
    expect(preview.locator(".field-error")).to_contain_text("is not a valid cron expression")
    # and creating it anyway is refused on the cron field, and nothing is made
    page.get_by_role("button", name="Create schedule").click()
    expect(page.locator("#schedule-cron-error")).to_be_visible()
    assert not Schedule.objects.exists()

    # when the cron is corrected, the form shows when it would fire, and it is created
    page.get_by_label("Cron").fill("30 2 * * *")
    expect(page.locator("#schedule-cron-error")).to_have_count(0)
    expect(preview.get_by_role("listitem")).to_have_count(3)
    expect(preview.get_by_role("listitem").first).to_contain_text("02:30 Europe/Berlin")
    screenshot(page, "triggers-new-schedule")
    page.get_by_role("button", name="Create schedule").click()

    # then it is listed, active, with its next fire times at 02:30 in Berlin
    expect(page.get_by_role("status")).to_contain_text("Schedule triggers/report default created")
    row = page.locator("tr[data-schedule]")
    expect(row).to_contain_text("30 2 * * *")
    expect(row.locator(".badge")).to_have_text("active")
    times = page.get_by_role("region", name="Next fire times of triggers/report default")
    expect(times.get_by_role("listitem")).to_have_count(5)
    expect(times.get_by_role("listitem").first).to_contain_text("02:30 Europe/Berlin")
    expect(page.get_by_text("It has started no run yet.")).to_be_visible()
    schedule = Schedule.objects.get()
    assert (schedule.cron, schedule.timezone, schedule.input) == ("30 2 * * *",
                                                                  "Europe/Berlin",
                                                                  {"day": "today"})
    screenshot(page, "triggers")
    assert serious_accessibility_violations(page) == []

    # when it is paused
    page.get_by_role("button", name="Pause triggers/report default").click()
    # then it shows paused and will not fire
    expect(row.locator(".badge")).to_have_text("paused")
    expect(times.get_by_role("heading")).to_have_text("Fire times once resumed")
    schedule.refresh_from_db()
    assert not schedule.enabled and schedule.next_fire_at is None

    # when it is resumed
    page.get_by_role("button", name="Resume triggers/report default").click()
    # then it is active again, with a next fire time
    expect(row.locator(".badge")).to_have_text("active")
    schedule.refresh_from_db()
    assert schedule.enabled and schedule.next_fire_at is not None

    # when it is deleted, which asks first
    page.get_by_role("button", name="Delete triggers/report default").click()
    dialog = page.get_by_role("dialog", name="Delete the schedule?")
    dialog.get_by_role("button", name="Keep it").click()
    expect(dialog).to_have_count(0)
    assert Schedule.objects.exists()
    page.get_by_role("button", name="Delete triggers/report default").click()
    dialog.get_by_role("button", name="Delete schedule").click()
    # then it is gone
    expect(page.get_by_role("status")).to_contain_text("Schedule triggers/report default deleted")
    expect(row).to_have_count(0)
    assert not Schedule.objects.exists()


def test_a_webhook_url_is_shown_once_and_starts_runs(open_page, designer, report, worker, web,
                                                     screenshot):
    # given the webhooks section
    page = open_page(designer, "/triggers/")
    expect(page.get_by_text("No webhook starts a workflow yet.")).to_be_visible()

    # when the designer creates a webhook for the workflow
    page.get_by_role("button", name="New webhook").click()
    form = page.get_by_role("form", name="New webhook")
    form.get_by_label("Workflow").select_option(label="triggers/report")
    form.get_by_label("Name").fill("shop")
    form.get_by_role("button", name="Create webhook").click()

    # then its URL is shown, with the warning that this is the only time
    shown = page.get_by_role("region", name="URL of the new webhook triggers/report shop")
    expect(shown).to_contain_text("shown only this once")
    url = shown.get_by_label("Webhook URL").input_value()
    # and the Copy button puts it on the clipboard
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    shown.get_by_role("button", name="Copy").click()
    expect(shown.get_by_text("Copied to the clipboard.")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == url
    assert url.startswith(f"{web.origin}/api/hooks/")
    screenshot(page, "triggers-webhook-url")
    assert serious_accessibility_violations(page) == []

    # and the URL works: a POST starts a run of the workflow with the body as its input
    response = httpx.post(url, json={"day": "monday"})
    assert response.status_code == 202, response.text
    execution = wait_for(Execution.objects.get(pk=response.json()["execution"]))
    assert execution.status == "completed" and execution.output == {"made": "monday"}

    # when the page is loaded again
    page.reload()
    # then the webhook is listed by its hint alone, the URL is not shown any more
    row = page.locator("tr[data-webhook]")
    expect(row).to_contain_text("shop")
    expect(row).to_contain_text(f"/api/hooks/{WebhookTrigger.objects.get().token_hint}…")
    expect(page.get_by_label("Webhook URL")).to_have_count(0)
    assert url.rsplit("/", 1)[1] not in page.content()

    # when it is rotated
    page.get_by_role("button", name="Rotate triggers/report shop").click()
    # then a new URL is shown once; it works and the old one no longer does
    rotated = page.get_by_role("region", name="New URL of the webhook triggers/report shop")
    expect(rotated).to_contain_text("shown only this once")
    new_url = rotated.get_by_label("Webhook URL").input_value()
    assert new_url != url
    assert httpx.post(url, json={}).status_code == 404
    assert httpx.post(new_url, json={"day": "tuesday"}).status_code == 202

    # when it is deleted (confirmed in the dialog)
    page.get_by_role("button", name="Delete triggers/report shop").click()
    page.get_by_role("dialog", name="Delete the webhook?").get_by_role(
        "button", name="Delete webhook").click()
    # then its row and its URL are gone, and the URL no longer starts runs
    expect(page.get_by_role("status")).to_contain_text("Webhook triggers/report shop deleted")
    expect(row).to_have_count(0)
    expect(page.get_by_label("Webhook URL")).to_have_count(0)
    assert httpx.post(new_url, json={}).status_code == 404


def test_a_viewer_sees_the_triggers_but_no_controls(open_page, viewer, report):
    # given a schedule and a webhook made by the platform
    schedule_create(workflow=report, cron="@daily", timezone="UTC", actor=None)
    webhook_create(workflow=report, name="inbound", actor=None)

    # when a viewer opens the page
    page = open_page(viewer, "/triggers/")

    # then both are listed
    expect(page.locator("tr[data-schedule]")).to_contain_text("@daily")
    expect(page.locator("tr[data-webhook]")).to_contain_text("inbound")
    # and nothing changes them
    for name in ("New schedule", "New webhook", "Pause", "Resume", "Delete", "Rotate",
                 "Disable", "Enable"):
        expect(page.get_by_role("button", name=name)).to_have_count(0)
    # but the schedule's fire times can be read
    page.get_by_role("button", name="Show details of triggers/report default").click()
    times = page.get_by_role("region", name="Next fire times of triggers/report default")
    expect(times.get_by_role("listitem").first).to_contain_text("00:00 UTC")
    settings = page.get_by_role("region", name="Settings of triggers/report default")
    expect(settings).to_contain_text("is not retried")
    assert serious_accessibility_violations(page) == []


def test_an_editor_without_execute_is_told_why_a_schedule_is_paused(open_page, editor,
                                                                    report):
    # given an editor (workflow.write, not workflow.execute) and an enabled schedule
    schedule_create(workflow=report, cron="@hourly", timezone="UTC", actor=None)

    # when they open the page
    page = open_page(editor, "/triggers/")

    # then they may pause it but not resume it or rotate a webhook URL
    page.get_by_role("button", name="Pause triggers/report default").click()
    expect(page.locator("tr[data-schedule] .badge")).to_have_text("paused")
    expect(page.get_by_role("button", name="Resume")).to_have_count(0)
    # and a new schedule would be created paused, as the form says
    page.get_by_role("button", name="New schedule").click()
    expect(page.get_by_label("Enabled").first).to_be_disabled()
    expect(page.get_by_text("Enabling a schedule needs workflow.execute")).to_be_visible()
