"""Signing in, the frame around every page, and the workflows list."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD
from tests.engine import workflow_from
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
