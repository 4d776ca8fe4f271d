"""Editing together: two people on one saved workflow change its shared draft at once and
see each other's changes within a second, publish one version naming both as co-authors; a
reader follows read-only; undo takes back one's own change, never the other's (docs/ui.md,
"Editing together")."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.engine import workflow_from
from tests.ui.conftest import TOGETHER, serious_accessibility_violations
from workflows.models import Workflow

pytestmark = pytest.mark.django_db(transaction=True)

# What a person notices: the other's change on their own screen within a second.
SOON = 1000
WHOLE_PIXELS = re.compile(r"transform: translate\(-?\d+px, -?\d+px\);")


def _open(open_page, user, workflow):
    """The designer of `workflow` for `user`, once its shared draft is live."""
    page = open_page(user, f"/workflows/{workflow.pk}/")
    expect(page.locator(".draft-link")).to_have_attribute("data-state", "live")
    return page


def _node(page, node_id: str):
    return page.locator(f'[data-node-id="{node_id}"]')


def _select(page, node_id: str) -> None:
    _node(page, node_id).click()
    expect(page.get_by_role("region", name=f"Properties of {node_id}")).to_be_visible()


def _label(page, node_id: str, text: str) -> None:
    """Set a node's label in the property panel (selecting it first)."""
    _select(page, node_id)
    page.get_by_label("Label", exact=True).fill(text)


def _placed_at(page, node_id: str) -> str:
    """Where the canvas draws a node, in the graph's coordinates (its `translate`), once in
    whole pixels (a drag ends on them)."""
    node = page.locator(f'.react-flow__node[data-id="{node_id}"]')
    expect(node).to_have_attribute("style", WHOLE_PIXELS)
    return node.evaluate("element => element.style.transform")


def _drag(page, node_id: str, dx: int, dy: int) -> None:
    box = _node(page, node_id).bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx, y + dy, steps=8)
    page.mouse.up()


def test_a_move_and_an_edit_show_on_the_other_page_within_a_second(
        open_page, designer, editor, screenshot):
    # given two editors on one saved workflow, the second with a node's properties open
    workflow = workflow_from(TOGETHER)
    ada = _open(open_page, designer, workflow)
    bob = _open(open_page, editor, workflow)
    _select(bob, "fetch")
    # when the first drags a node somewhere else
    before = _placed_at(ada, "report")
    _drag(ada, "report", 0, 160)
    moved = _placed_at(ada, "report")
    assert moved != before
    # then the other page draws it there within a second
    expect(bob.locator('.react-flow__node[data-id="report"]')).to_have_attribute(
        "style", re.compile(re.escape(f"transform: {moved};")), timeout=SOON)
    # when the first changes a field of the node the other has open
    _select(ada, "fetch")
    ada.locator('[data-field="message"]').fill("fetch the orders")
    # then the other's form shows the new value within a second, still on that node
    message = bob.locator('[data-field="message"]')
    expect(message).to_have_value("fetch the orders", timeout=SOON)
    expect(bob.get_by_role("region", name="Properties of fetch")).to_be_visible()
    expect(bob.locator(".react-flow__node.selected")).to_have_count(1)
    screenshot(bob, "designer-coediting")
    assert serious_accessibility_violations(bob) == []


def test_two_editors_change_different_nodes_at_once_and_the_version_names_both(
        open_page, designer, editor):
    workflow = workflow_from(TOGETHER)
    ada = _open(open_page, designer, workflow)
    bob = _open(open_page, editor, workflow)
    _select(ada, "fetch")
    _select(bob, "report")
    # when both change a node at the same time, each their own
    ada.locator('[data-field="message"]').fill("ada's fetch")
    bob.locator('[data-field="message"]').fill("bob's report")
    # then each page has both changes
    for page in (ada, bob):
        _select(page, "fetch")
        expect(page.locator('[data-field="message"]')).to_have_value("ada's fetch")
        _select(page, "report")
        expect(page.locator('[data-field="message"]')).to_have_value("bob's report")
    expect(ada.locator(".unsaved")).to_have_text("unpublished changes")
    # when one of them publishes the draft
    ada.get_by_role("button", name="Publish").click()
    ada.get_by_label("Change note").fill("both of us")
    ada.get_by_role("dialog").get_by_role("button", name="Publish").click()
    # then the new version holds both changes and names both as co-authors
    expect(ada.get_by_text("Version 2 published. Co-authors: designer and editor.")).to_be_visible()
    expect(ada.locator(".unsaved")).to_have_count(0)
    version = Workflow.objects.get(pk=workflow.pk).current_version
    assert version.number == 2
    assert {node["id"]: node["data"]["message"] for node in version.definition["nodes"]} == {
        "fetch": "ada's fetch", "report": "bob's report"}
    # and the other is told, and sees it among the versions with both names
    expect(bob.get_by_text("designer published the draft as version 2")).to_be_visible()
    bob.get_by_role("tab", name="Versions").click()
    row = bob.locator('[data-version="2"]')
    expect(row).to_contain_text("both of us")
    expect(row).to_contain_text("co-authors: designer, editor")


def test_a_reader_follows_the_changes_and_cannot_change_anything(
        open_page, designer, viewer, screenshot):
    workflow = workflow_from(TOGETHER)
    reader = _open(open_page, viewer, workflow)
    ada = _open(open_page, designer, workflow)
    expect(reader.locator(".draft-link")).to_have_text("Live, read-only")
    # when the editor renames a node's label
    _label(ada, "fetch", "Fetch orders")
    # then the reader sees it within a second
    expect(_node(reader, "fetch").locator(".canvas-node-label")).to_have_text(
        "Fetch orders", timeout=SOON)
    # and has nothing to edit with: no palette, publish or undo, disabled fields, fixed nodes
    expect(reader.locator(".palette")).to_have_count(0)
    for name in ("Publish", "Save", "Undo", "Redo", "Auto-layout"):
        expect(reader.get_by_role("button", name=name)).to_have_count(0)
    _select(reader, "fetch")
    expect(reader.locator('[data-field="message"]')).to_be_disabled()
    before = _placed_at(reader, "report")
    _drag(reader, "report", 0, 160)
    reader.keyboard.press("Delete")
    assert _placed_at(reader, "report") == before
    expect(reader.locator(".react-flow__node")).to_have_count(2)
    # and the draft holds the editor's change alone
    draft = reader.request.get(f"/api/collaboration/workflows/{workflow.pk}/draft").json()
    assert draft["authors"] == ["designer"]
    assert [node.get("name") for node in draft["definition"]["nodes"]] == ["Fetch orders", None]
    screenshot(reader, "designer-coediting-reader")


def test_undo_takes_back_only_ones_own_change(open_page, designer, editor):
    workflow = workflow_from(TOGETHER)
    ada = _open(open_page, designer, workflow)
    bob = _open(open_page, editor, workflow)
    # given each changed the label of a node
    _label(ada, "fetch", "Ada's fetch")
    _label(bob, "report", "Bob's report")
    for page in (ada, bob):
        expect(_node(page, "fetch").locator(".canvas-node-label")).to_have_text("Ada's fetch")
        expect(_node(page, "report").locator(".canvas-node-label")).to_have_text("Bob's report")
    # when the first undoes (Ctrl+Z, not in a field)
    ada.get_by_role("heading", name="default/together").click()
    ada.keyboard.press("Control+z")
    # then their change is gone on both pages, and the other's stays
    for page in (ada, bob):
        expect(_node(page, "fetch").locator(".canvas-node-label")).to_have_text("fetch")
        expect(_node(page, "report").locator(".canvas-node-label")).to_have_text("Bob's report")
    expect(ada.get_by_role("button", name="Undo")).to_be_disabled()
    # and redo brings it back, for both
    ada.get_by_role("button", name="Redo").click()
    for page in (ada, bob):
        expect(_node(page, "fetch").locator(".canvas-node-label")).to_have_text("Ada's fetch")
        expect(_node(page, "report").locator(".canvas-node-label")).to_have_text("Bob's report")


# Types a value into a field at once, as a paste does (faster than typing it).
PASTE = """(field, length) => {
  const setter = Object.getOwnPropertyDescriptor(HTMLTextAreaElement.prototype, "value").set;
  setter.call(field, "x".repeat(length));
  field.dispatchEvent(new Event("input", {bubbles: true}));
}"""


def test_a_change_too_large_to_share_is_given_up_and_said_so(open_page, designer):
    workflow = workflow_from(TOGETHER)
    page = _open(open_page, designer, workflow)
    _select(page, "fetch")
    # when a paste puts more into a field than the server takes at once (1 MiB)
    page.locator('[data-field="message"]').evaluate(PASTE, 1_200_000)
    # then the designer says the change was not kept and shows the draft as it is
    expect(page.get_by_text("Your last change was not kept")).to_be_visible()
    expect(page.locator(".draft-link")).to_have_attribute("data-state", "live")
    _select(page, "fetch")
    expect(page.locator('[data-field="message"]')).to_have_value("fetch")
    # and editing goes on
    page.locator('[data-field="message"]').fill("fetch again")
    other = _open(open_page, designer, workflow)
    _select(other, "fetch")
    expect(other.locator('[data-field="message"]')).to_have_value("fetch again")
