"""The runs list: every run with its workflow, status, trigger and times; filtered by
workflow, status, trigger and time, with a count per status; kept current while shown."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from executions import services
from tests.engine import wait_for, workflow_from
from tests.ui.conftest import serious_accessibility_violations

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def flow(name: str, node: dict) -> object:
    return workflow_from({"name": name, "namespace": "runs", "nodes": [node]})


PASSES = {"id": "ok", "type": "Transform", "data": {"template": "fine"}}
FAILS = {"id": "check", "type": "Validator",
         "data": {"value": 1, "schema": {"type": "string"}}, "retry": {"max_attempts": 1}}
WAITS = {"id": "pause", "type": "Delay", "data": {"seconds": 600}}


def test_the_runs_list_filters_by_status_and_workflow_and_counts_each_status(
        open_page, viewer, operator, worker, screenshot):
    # given runs that completed, failed and wait, of two workflows
    alpha, beta = flow("alpha", PASSES), flow("beta", FAILS)
    waiter = flow("waiter", WAITS)
    done, _ = services.execution_start(workflow=alpha, input={}, actor=operator)
    failed, _ = services.execution_start(workflow=beta, input={})
    waiting, _ = services.execution_start(workflow=waiter, input={})
    wait_for(done)
    wait_for(failed)
    wait_for(waiting, statuses=("waiting",))

    # when a viewer opens the runs list
    page = open_page(viewer, "/runs/")
    rows = page.locator("table.runs tbody tr")

    # then every run is listed with its workflow, status, trigger and who started it
    expect(rows).to_have_count(3)
    row = page.locator(f"tr[data-run='{done.pk}']")
    expect(row).to_contain_text("runs/alpha")
    expect(row).to_contain_text("completed")
    expect(row).to_contain_text("api")
    expect(row).to_contain_text("operator")
    expect(row.get_by_role("link", name=f"Run {done.pk}")).to_have_attribute(
        "href", f"/runs/{done.pk}/")
    counts = page.get_by_role("group", name="Status")
    expect(counts.locator("[data-status='completed'] .count")).to_have_text("1")
    expect(counts.locator("[data-status='failed'] .count")).to_have_text("1")
    expect(counts.locator("[data-status='waiting'] .count")).to_have_text("1")
    expect(counts.locator("[data-status='running'] .count")).to_have_text("0")
    screenshot(page, "runs")
    assert serious_accessibility_violations(page) == []

    # when only the failed and the waiting are asked for
    counts.get_by_role("button", name="failed").click()
    counts.get_by_role("button", name="waiting").click()
    # then only they are listed, and the address keeps the choice
    expect(rows).to_have_count(2)
    expect(page.locator("tr[data-status='completed']")).to_have_count(0)
    expect(counts.get_by_role("button", name="failed")).to_have_attribute("aria-pressed", "true")
    assert "status=failed" in page.url and "status=waiting" in page.url

    # when the list is narrowed to one workflow too
    page.get_by_label("Workflow").fill("runs/beta")
    expect(rows).to_have_count(1)
    expect(page.locator(f"tr[data-run='{failed.pk}']")).to_be_visible()
    expect(counts.locator("[data-status='waiting'] .count")).to_have_text("0")

    # when the runs are asked for by a trigger none of them had, or from a time to come
    page.get_by_label("Trigger").select_option("schedule")
    expect(page.get_by_text("No run matches.")).to_be_visible()
    page.get_by_label("Trigger").select_option("api")
    expect(rows).to_have_count(1)
    page.get_by_label("Created after").fill("2099-01-01T00:00")
    expect(page.get_by_text("No run matches.")).to_be_visible()
    page.get_by_label("Created after").fill("2001-01-01T00:00")
    expect(rows).to_have_count(1)

    # and a reference that is no workflow's is refused on the field
    page.get_by_label("Workflow").fill("not a reference")
    expect(page.locator("#filter-workflow-error")).to_contain_text("namespace/name")


def test_the_runs_list_shows_a_new_run_while_it_is_open(open_page, viewer, worker):
    # given the list open on the waiting runs, none yet
    waiter = flow("later", WAITS)
    page = open_page(viewer, "/runs/?status=waiting")
    expect(page.get_by_text("No run matches.")).to_be_visible()

    # when a run starts and waits
    execution, _ = services.execution_start(workflow=waiter, input={})
    wait_for(execution, statuses=("waiting",))

    # then it appears without a reload
    expect(page.locator(f"tr[data-run='{execution.pk}']")).to_be_visible(timeout=12_000)
    expect(page.get_by_role("group", name="Status").locator("[data-status='waiting'] .count")
           ).to_have_text("1")


def test_the_runs_list_pages_through_many_runs(open_page, viewer):
    # given more runs than a page holds (50)
    asks = flow("many", {"id": "ask", "type": "UserAction",
                         "data": {"assignee": "x", "prompt": "?"}})
    started = [services.execution_start(workflow=asks, input={})[0].pk for _ in range(52)]

    # when the list is opened, then the newest 50 are on its first page
    page = open_page(viewer, "/runs/")
    rows = page.locator("table.runs tbody tr")
    expect(rows).to_have_count(50)
    expect(page.get_by_text("Page 1 · 52 runs")).to_be_visible()
    expect(page.get_by_role("button", name="Previous")).to_be_disabled()

    # and the next page holds the two oldest
    page.get_by_role("button", name="Next").click()
    expect(rows).to_have_count(2)
    expect(page.locator(f"tr[data-run='{started[0]}']")).to_be_visible()
    expect(page.get_by_role("button", name="Next")).to_be_disabled()
    page.get_by_role("button", name="Previous").click()
    expect(rows).to_have_count(50)
