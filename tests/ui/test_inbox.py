"""The approvals inbox: the waits a person may answer, their forms, and their outcomes."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from executions import services
from executions.models import Bookmark
from tests.engine import wait_for, workflow_from
from tests.ui.conftest import serious_accessibility_violations

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("worker")]


def expense(prompt: str = "Approve the expense of {{ input.amount }} EUR?",
            name: str = "expense") -> dict[str, Any]:
    """An approval for the user `approver`, with a required comment, before two branches."""
    return {
        "name": name, "namespace": "inbox",
        "nodes": [
            {"id": "approve", "type": "UserAction",
             "data": {"assignee": "approver", "prompt": prompt,
                      "outcomes": ["approved", "rejected"], "timeout": 86400,
                      "timeout_outcome": "rejected",
                      "form": {"type": "object", "required": ["comment"],
                               "properties": {
                                   "comment": {"type": "string", "title": "Comment"},
                                   "priority": {"type": "string", "title": "Priority",
                                                "enum": ["low", "normal", "high"],
                                                "default": "normal"}}}}},
            {"id": "pay", "type": "Transform", "data": {"template": "paid"}},
            {"id": "refuse", "type": "Transform", "data": {"template": "refused"}},
        ],
        "edges": [{"source": "approve", "target": "pay", "sourceHandle": "approved"},
                  {"source": "approve", "target": "refuse", "sourceHandle": "rejected"}],
    }


def waiting_run(definition: dict[str, Any], amount: int = 120):
    execution, _ = services.execution_start(workflow=workflow_from(definition),
                                            input={"amount": amount})
    return wait_for(execution, statuses=("waiting", "failed", "completed"))


@pytest.fixture
def approver(user_factory):
    """Assigned the approval; holds no workflow permission (an approver needs none)."""
    return user_factory(username="approver")


def test_the_assignee_fills_the_form_and_approves(open_page, approver, screenshot):
    # given a run waiting for the approver's answer
    execution = waiting_run(expense())
    assert execution.status == "waiting"

    # when the approver opens the inbox
    page = open_page(approver, "/inbox/")

    # then the approval is there: its run, node, prompt, assignee and timeout
    card = page.get_by_role("article", name="inbox/expense")
    expect(card).to_contain_text("Approve the expense of 120 EUR?")
    expect(card).to_contain_text("approve")
    expect(card.locator("dd").first).to_have_text("you")
    expect(card).to_contain_text("(then: rejected)")
    # and no link to a run they may not read (they hold no workflow permission)
    expect(card.get_by_role("link")).to_have_count(0)
    assert serious_accessibility_violations(page) == []

    # when they approve without the required comment
    card.get_by_role("button", name="approved").click()
    # then the API's refusal is shown on the field, and the wait stays open
    expect(card.get_by_role("alert")).to_contain_text("see the fields below")
    expect(card.locator("[data-field-name=comment] .field-error")).to_have_text(
        "This field is required.")
    assert Bookmark.objects.get(execution=execution).status == "open"

    # when they fill it in and approve
    expect(card.get_by_label("Priority")).to_have_value('"normal"')  # the form's default
    card.get_by_label("Comment").fill("Within the budget")
    card.get_by_label("Priority").select_option(label="high")
    screenshot(page, "inbox")
    card.get_by_role("button", name="approved").click()

    # then the approval leaves the list with a confirmation
    expect(page.get_by_role("status")).to_contain_text("Answered “approved” for inbox/expense")
    expect(card).to_have_count(0)
    expect(page.get_by_text("Nothing is waiting for your answer.")).to_be_visible()
    # and the run went on down the approved branch
    execution = wait_for(execution)
    assert execution.status == "completed"
    assert execution.output == {"pay": "paid"}
    assert execution.nodes.get(node_id="approve").output == {
        "outcome": "approved", "response": {"comment": "Within the budget", "priority": "high"},
        "by": "approver"}


def test_only_those_who_may_answer_see_the_approval(open_page, approver, viewer, operator):
    # given a run waiting for the approver
    execution = waiting_run(expense())

    # when a viewer (who reads every run, but may not answer) opens the inbox
    page = open_page(viewer, "/inbox/")
    # then it is empty and offers nothing to answer
    expect(page.get_by_text("Nothing is waiting for your answer.")).to_be_visible()
    expect(page.get_by_role("button", name="approved")).to_have_count(0)
    assert serious_accessibility_violations(page) == []

    # when an operator (workflow.execute may answer any wait) opens it
    page = open_page(operator, "/inbox/")
    # then the approval is there, for the approver, with a link to its run
    card = page.get_by_role("article", name="inbox/expense")
    expect(card.locator("dd").first).to_have_text("approver")
    expect(card.get_by_role("link", name="inbox/expense")).to_have_attribute(
        "href", f"/runs/{execution.pk}/")
    # and narrowing to their own assignments hides it
    page.get_by_label("Show").select_option("mine")
    expect(card).to_have_count(0)
    expect(page.get_by_text("Nothing is waiting for your answer.")).to_be_visible()
    assert Bookmark.objects.get(execution=execution).status == "open"


def test_a_prompt_is_shown_as_text_not_markup(open_page, approver):
    # given an approval whose prompt holds markup
    waiting_run(expense(prompt="<img src=x onerror=alert(1)> Pay?", name="markup"))

    # when the approver opens the inbox
    page = open_page(approver, "/inbox/")

    # then the markup is text on the page, and no image element was made from it
    card = page.get_by_role("article", name="inbox/markup")
    expect(card.locator(".approval-prompt")).to_have_text("<img src=x onerror=alert(1)> Pay?")
    expect(page.locator("img[src=x]")).to_have_count(0)


def test_the_inbox_refreshes_itself_while_it_is_visible(open_page, approver):
    # given the approver's empty inbox, its clock under the test's control
    page = open_page(approver, "/inbox/")
    page.clock.install()
    page.reload()
    expect(page.get_by_text("Nothing is waiting for your answer.")).to_be_visible()
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url)
            if "/api/bookmarks" in request.url else None)

    # when an approval opens while the tab is hidden, and ten seconds pass
    page.evaluate("""() => Object.defineProperty(document, "visibilityState",
                                                 {value: "hidden", configurable: true})""")
    waiting_run(expense())
    page.clock.run_for(10_500)
    # then the hidden tab asked the server nothing
    assert asked == []

    # when the tab is shown again
    page.evaluate("""() => { Object.defineProperty(document, "visibilityState",
                                                   {value: "visible", configurable: true});
                             document.dispatchEvent(new Event("visibilitychange")); }""")
    # then the approval appears without a reload
    card = page.get_by_role("article", name="inbox/expense")
    expect(card).to_contain_text("Approve the expense of 120 EUR?")

    # and ten more seconds bring the next one in
    waiting_run(expense(name="travel"))
    page.clock.run_for(10_500)
    expect(page.get_by_role("article", name="inbox/travel")).to_be_visible()


def test_a_role_approval_answered_by_one_member_leaves_the_others_inbox(open_page,
                                                                         user_factory):
    # given an approval for the finance group, and two of its members with the inbox open
    finance = Group.objects.create(name="finance")
    first, second = user_factory(username="ann"), user_factory(username="bob")
    for member in (first, second):
        member.groups.add(finance)
    definition = expense(name="invoice")
    definition["nodes"][0]["data"].update(assignee="role:finance", form={"type": "object"})
    execution = waiting_run(definition)
    ann = open_page(first, "/inbox/")
    bob = open_page(second, "/inbox/")
    bob_card = bob.get_by_role("article", name="inbox/invoice")
    expect(bob_card.locator("dd").first).to_have_text("the finance group")

    # when one member approves
    ann.get_by_role("article", name="inbox/invoice").get_by_role("button",
                                                                 name="approved").click()
    expect(ann.get_by_role("status")).to_contain_text("Answered “approved”")

    # and the other, whose page has not refreshed yet, rejects
    bob_card.get_by_role("button", name="rejected").click()

    # then the second is told it was answered already, and it leaves their list too
    expect(bob.get_by_role("status")).to_contain_text("already resumed")
    expect(bob_card).to_have_count(0)
    assert wait_for(execution).output == {"pay": "paid"}
