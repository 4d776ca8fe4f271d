"""The dashboard: the runs of a time range (headline figures, charts over time, the most
failing workflows and nodes) and the platform now (queues, workers, caches, locks)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import expect

from executions import services
from monitoring import services as monitoring_services
from tests.engine import wait_for, workflow_from
from tests.ui.conftest import serious_accessibility_violations

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

PASSES = {"id": "ok", "type": "Transform", "data": {"template": "fine"}}
FAILS = {"id": "check", "type": "Validator",
         "data": {"value": 1, "schema": {"type": "string"}}, "retry": {"max_attempts": 1}}

# How many pixels of a colour the canvas holds: the chart drew what it was given.
PIXELS_OF = """(canvas, rgb) => {
  const { data } = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
  let found = 0;
  for (let at = 0; at < data.length; at += 4) {
    if (data[at] === rgb[0] && data[at + 1] === rgb[1] && data[at + 2] === rgb[2]) found += 1;
  }
  return found;
}"""
COMPLETED_RGB, FAILED_RGB = [0x15, 0x80, 0x3D], [0xB9, 0x1C, 0x1C]  # frame.css' --status-*


def flow(name: str, node: dict) -> object:
    return workflow_from({"name": name, "namespace": "dash", "nodes": [node]})


def test_the_dashboard_shows_the_ranges_runs_and_the_platform_now(
        open_page, viewer, worker, screenshot):
    # given three runs that completed and one that failed
    steady, flaky = flow("steady", PASSES), flow("flaky", FAILS)
    done = [services.execution_start(workflow=steady, input={})[0] for _ in range(3)]
    failed, _ = services.execution_start(workflow=flaky, input={})
    for execution in [*done, failed]:
        wait_for(execution)
    # and their minute rolled up, as beat does once the minute has ended
    monitoring_services.rollups_write(now=timezone.now() + timedelta(minutes=1))

    # when a viewer opens the dashboard
    page = open_page(viewer, "/dashboard/")

    # then the headline figures are the runs', and the address names the range shown
    figures = page.locator(".big-numbers")
    expect(figures.locator("[data-figure='total'] .big-value")).to_have_text("4")
    expect(figures.locator("[data-figure='success-rate'] .big-value")).to_have_text("75%")
    expect(figures.locator("[data-figure='success-rate']")).to_contain_text("1 failed")
    expect(figures.locator("[data-figure='active'] .big-value")).to_have_text("0")
    assert "range=24h" in page.url
    expect(page.get_by_role("group", name="Time range").get_by_role("button", name="24h")
           ).to_have_attribute("aria-pressed", "true")

    # and the timeline draws the completed and the failed runs, named in words
    timeline = page.get_by_role("figure", name="Runs finished")
    canvas = timeline.get_by_role("img")
    expect(canvas).to_have_attribute("aria-label",
                                     re.compile(r"3 completed, 1 failed, 0 cancelled"))
    expect(timeline).to_contain_text("completed")  # the legend
    assert canvas.evaluate(PIXELS_OF, COMPLETED_RGB) > 0
    assert canvas.evaluate(PIXELS_OF, FAILED_RGB) > 0
    for name in ("Success and failure rate", "Run time", "Throughput"):
        expect(page.get_by_role("figure", name=name).get_by_role("img")).to_be_visible()

    # and the failing workflow and node are listed, the newest runs too
    failing = page.locator("[data-panel='failures']")
    expect(failing.locator("tr[data-workflow='dash/flaky']")).to_contain_text("1")
    expect(failing.locator("tr[data-node='check']")).to_contain_text("Validator")
    expect(page.locator("[data-panel='failures'] tr[data-workflow='dash/steady']")).to_have_count(0)
    recent = page.locator("[data-panel='recent']")
    expect(recent.get_by_role("link", name=f"Run {failed.pk}")).to_have_attribute(
        "href", f"/runs/{failed.pk}/")

    # and the platform's queue, its worker and its caches are shown
    queues = page.locator("[data-panel='queues']")
    expect(queues.locator(f"tr[data-queue='{settings.CELERY_TASK_DEFAULT_QUEUE}']")).to_be_visible()
    expect(page.locator("[data-figure='workers-online']")).to_have_text(
        re.compile(r"^[1-9]\d* workers? online$"))
    expect(page.locator("[data-panel='caches'] tr[data-cache='plan']")).to_be_visible()
    expect(page.locator("[data-panel='locks'] h2")).to_have_text("Locks")
    screenshot(page, "dashboard")
    assert serious_accessibility_violations(page) == []

    # when the last hour is chosen
    with page.expect_request(lambda request: "/api/performance/metrics" in request.url) as asked:
        page.get_by_role("group", name="Time range").get_by_role("button", name="1h").click()
    # then the address keeps it and the figures are read again, for that hour by the minute
    expect(page).to_have_url(re.compile(r"[?&]range=1h"))
    params = parse_qs(urlsplit(asked.value.url).query)
    span = (datetime.fromisoformat(params["to"][0].replace("Z", "+00:00"))
            - datetime.fromisoformat(params["from"][0].replace("Z", "+00:00")))
    assert span == timedelta(hours=1) and params["bucket"] == ["auto"]
    expect(page.locator(".dashboard-runs")).to_have_attribute("data-range", "1h")
    expect(page.get_by_role("heading", name="Runs · last hour")).to_be_visible()
    expect(figures.locator("[data-figure='total'] .big-value")).to_have_text("4")
    expect(timeline.get_by_role("img")).to_have_attribute("aria-label", re.compile(r"per minute"))

    # when the failing workflow is followed, then the runs list shows its failed runs
    failing.get_by_role("link", name="Failed runs of dash/flaky").click()
    expect(page).to_have_url(re.compile(r"/runs/\?workflow=dash%2Fflaky&status=failed$"))
    rows = page.locator("table.runs tbody tr")
    expect(rows).to_have_count(1)
    expect(page.locator(f"tr[data-run='{failed.pk}']")).to_be_visible()

    # and a link to the dashboard with a range opens on that range
    page.goto("/dashboard/?range=7d")
    expect(page.get_by_role("group", name="Time range").get_by_role("button", name="7d")
           ).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_role("heading", name="Runs · last 7 days")).to_be_visible()


def test_the_dashboard_says_so_when_the_range_has_no_runs(open_page, viewer, worker):
    # given no run at all, when a viewer opens the dashboard
    page = open_page(viewer, "/dashboard/?range=1h")
    # then it says there is nothing to chart rather than drawing empty axes
    expect(page.get_by_text("No run was started in this range.")).to_be_visible()
    expect(page.locator(".big-numbers [data-figure='total'] .big-value")).to_have_text("0")
    expect(page.locator(".dashboard-runs canvas")).to_have_count(0)
    expect(page.locator("[data-panel='failures']")).to_contain_text(
        "No workflow failed in this range.")
    expect(page.locator("[data-panel='recent']")).to_contain_text("No run yet.")


def test_the_dashboard_tells_a_user_without_workflow_read_why_it_is_empty(open_page, nobody):
    # given a user without workflow.read, when they open the dashboard
    page = open_page(nobody, "/dashboard/")
    # then a notice says what is missing, and the page asks the API nothing
    notice = page.get_by_role("status").filter(has_text="workflow.read")
    expect(notice).to_be_visible()
    expect(page.locator(".big-numbers")).to_have_count(0)
    page.wait_for_timeout(300)
    fetched = page.evaluate(
        "performance.getEntriesByType('resource').map((entry) => entry.name)")
    assert [url for url in fetched if "/api/" in url] == []
    assert serious_accessibility_violations(page) == []
