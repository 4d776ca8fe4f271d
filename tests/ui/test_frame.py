"""Signing in, the frame around every page, and the workflows list."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD
from tests.engine import wait_for, workflow_from
from tests.ui.conftest import serious_accessibility_violations

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_person_signs_in_and_lands_on_the_workflows(open_page, viewer, screenshot):
    workflow_from({"name": "greet", "description": "Says hello",
                   "nodes": [{"id": "hello", "type": "Logger", "data": {"message": "hi"}}]})

    page = open_page(None, "/")

    expect(page).to_have_url("/login/?next=/")
    page.get_by_label("Username").fill("viewer")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Workflows")).to_be_visible()
    expect(page.get_by_role("link", name="default/greet")).to_be_visible()
    expect(page.locator("header.frame")).to_contain_text("viewer")
    screenshot(page, "workflows")
    assert serious_accessibility_violations(page) == []


def test_a_wrong_password_is_refused_on_the_form(open_page, viewer):

    page = open_page(None, "/login/")
    page.get_by_label("Username").fill("viewer")
    page.get_by_label("Password").fill("the wrong one")
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("alert")).to_contain_text("did not match")
    page.errors.clear()  # the form answered 200 with the message; nothing else is wrong


def test_the_list_filters_and_shows_each_workflows_last_run(open_page, designer, worker):
    from executions import services as execution_services

    first = workflow_from({"name": "billing", "namespace": "finance",
                           "nodes": [{"id": "a", "type": "Logger", "data": {"message": "x"}}]})
    workflow_from({"name": "ingest", "namespace": "data",
                   "nodes": [{"id": "a", "type": "Logger", "data": {"message": "x"}}]})
    execution, _ = execution_services.execution_start(workflow=first, input={}, actor=designer)
    wait_for(execution)

    page = open_page(designer, "/")
    rows = page.locator("table.workflows tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator('[data-workflow="finance/billing"]')).to_contain_text("completed")
    expect(page.locator('[data-workflow="data/ingest"]')).to_contain_text("never run")
    page.get_by_label("Namespace").fill("data")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("data/ingest")
    page.get_by_label("Namespace").fill("")
    page.get_by_label("Search").fill("bill")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("finance/billing")


def test_a_workflow_is_made_from_a_template_with_its_parameters(open_page, designer):
    page = open_page(designer, "/")
    page.get_by_role("button", name="From a template").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Template").select_option(label="HTTP check with email alert")
    dialog.get_by_label("Name", exact=True).fill("site-check")
    dialog.locator('[data-field="url"]').fill("https://shop.example/health")
    dialog.get_by_role("button", name="Create").click()
    expect(page.locator(".react-flow__node").first).to_be_visible()
    from workflows.models import Workflow

    workflow = Workflow.objects.get(name="site-check")
    assert "https://shop.example/health" in str(workflow.current_version.definition)
