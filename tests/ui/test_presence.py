"""Presence in the web UI: two people on one workflow see each other in the designer (their
avatars, the nodes they have selected, their pointers on the canvas) and in the workflow
list, over the collaboration socket (docs/collaboration.md)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.engine import workflow_from
from tests.ui.conftest import TOGETHER, serious_accessibility_violations

pytestmark = pytest.mark.django_db(transaction=True)

# Whether the other's pointer has its tip on the centre of a node, in this page's own pan
# and zoom: the pointer travelled as flow coordinates and was placed from them.
POINTER_ON_NODE = """([user, node]) => {
  const pointer = document.querySelector(`.remote-pointer[data-user="${user}"]`);
  const target = document.querySelector(`[data-node-id="${node}"]`);
  if (!pointer || !target) return false;
  const tip = pointer.getBoundingClientRect(), box = target.getBoundingClientRect();
  return Math.abs(tip.left - (box.left + box.width / 2)) < 3
    && Math.abs(tip.top - (box.top + box.height / 2)) < 3;
}"""


def _here(page, username: str):
    """`username`'s avatar among the others on the designer's bar."""
    return page.get_by_role("list", name="Also on this workflow").locator(
        f'[data-user="{username}"]')


def test_two_people_in_the_designer_see_each_other_their_selections_and_pointers(
        open_page, designer, editor, screenshot):
    # given two people with the same saved workflow open in the designer
    workflow = workflow_from(TOGETHER)
    ada = open_page(designer, f"/workflows/{workflow.pk}/")
    bob = open_page(editor, f"/workflows/{workflow.pk}/")
    # then each sees the other's avatar, with their status as its tooltip
    expect(_here(ada, "editor")).to_have_attribute("title", "editor: online")
    expect(_here(bob, "designer")).to_have_attribute("title", "designer: online")
    expect(_here(bob, "designer")).to_have_text(re.compile(r"^DE"))
    # when one selects a node
    ada.locator('[data-node-id="fetch"]').click()
    # then the other sees it outlined in the first one's colour, with their name
    seen = bob.locator('[data-node-id="fetch"]')
    expect(seen).to_have_class(re.compile(r"\bselected-by-other presence-colour-\d\b"))
    expect(seen.locator(".canvas-node-others")).to_have_text("selected by designer")
    expect(bob.locator(".selected-by-other")).to_have_count(1)
    expect(_here(bob, "designer")).to_have_attribute("title", "designer: online, editing fetch")
    # when they move their mouse over the canvas, onto the other node
    ada.locator('[data-node-id="report"]').hover()
    # then the other sees a pointer with their name there, in their own view of the canvas
    pointer = bob.locator('.remote-pointer[data-user="designer"]')
    expect(pointer).to_have_text("designer")
    bob.wait_for_function(POINTER_ON_NODE, arg=["designer", "report"])
    screenshot(bob, "designer-presence")
    assert serious_accessibility_violations(bob) == []
    # when the mouse leaves the canvas, the pointer goes
    ada.get_by_role("heading", name="default/together").hover()
    expect(pointer).to_have_count(0)
    # when the first one closes the page
    ada.close()
    # then the other's avatar and their selection disappear
    expect(_here(bob, "designer")).to_have_count(0)
    expect(bob.locator(".selected-by-other")).to_have_count(0)


def test_the_workflow_list_shows_who_is_in_each_workflow(open_page, designer, editor,
                                                        screenshot):
    # given someone in the designer of one workflow, and another workflow nobody has open
    workflow = workflow_from(TOGETHER)
    workflow_from({"name": "alone", "nodes": [
        {"id": "only", "type": "Logger", "data": {"message": "only"}}]})
    open_page(designer, f"/workflows/{workflow.pk}/")
    bob = open_page(editor, f"/workflows/{workflow.pk}/")
    expect(_here(bob, "designer")).to_be_visible()
    # when another person goes to the workflow list
    bob.goto("/")
    # then the row of that workflow shows the first one, and the other row nobody
    row = bob.locator('tr[data-workflow="default/together"]')
    avatar = row.get_by_role("list", name="On default/together now").locator(
        '[data-user="designer"]')
    expect(avatar).to_have_attribute("title", "designer: online")
    expect(bob.locator('tr[data-workflow="default/alone"] .avatar')).to_have_count(0)
    screenshot(bob, "workflows-presence")
