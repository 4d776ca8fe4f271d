"""The designer: build a workflow on the canvas, see problems where they are, save it and
publish its draft as versions, compare them, import a file; what a viewer may not do; text
stays text."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from tests.engine import workflow_from
from tests.ui.conftest import serious_accessibility_violations
from workflows.models import Workflow
from workflows.triggers.schedules import schedule_create

pytestmark = pytest.mark.django_db(transaction=True)

XSS = "<img src=x onerror=alert(1)>"
# `PUT /api/workflows/<id>` from a page, with its session and CSRF token: the answer's status.
SAVE_THROUGH_THE_API = """async ([id, body]) => {
  const token = JSON.parse(document.getElementById("page-props").textContent).csrfToken;
  const answer = await fetch(`/api/workflows/${id}`, {method: "PUT", body: JSON.stringify(body),
    headers: {"Content-Type": "application/json", "X-CSRFToken": token}});
  return answer.status;
}"""


def _drop(page, node_type: str, x: int, y: int) -> None:
    page.locator(f'[data-node-type="{node_type}"]').drag_to(
        page.get_by_test_id("canvas"), target_position={"x": x, "y": y})


def _connect(page, source: str, target: str, handle: str | None = None) -> None:
    selector = f'[data-node-id="{source}"] .react-flow__handle.source'
    if handle is not None:
        selector += f'[data-handleid="{handle}"]'
    page.locator(selector).drag_to(
        page.locator(f'[data-node-id="{target}"] .react-flow__handle.target'))


def _select(page, node_id: str) -> None:
    page.locator(f'[data-node-id="{node_id}"]').click()


def test_an_author_builds_a_branching_workflow_fixes_a_problem_and_makes_two_versions(
        open_page, designer, screenshot):
    # given an author on a blank canvas
    page = open_page(designer, "/workflows/new/")
    page.get_by_label("Name", exact=True).fill("orders")
    # when they drag four nodes from the palette
    _drop(page, "Logger", 350, 60)
    _drop(page, "Conditional", 350, 200)
    _drop(page, "Transform", 200, 360)
    _drop(page, "Logger", 520, 360)
    for node_id in ["logger_1", "conditional_1", "transform_1", "logger_2"]:
        expect(page.locator(f'[data-node-id="{node_id}"]')).to_be_visible()
    # and connect them, the Conditional's two branches to two nodes
    _connect(page, "logger_1", "conditional_1")
    _connect(page, "conditional_1", "transform_1", "true")
    _connect(page, "conditional_1", "logger_2", "false")
    expect(page.locator(".react-flow__edge")).to_have_count(3)
    # and fill their properties, one template left unclosed
    _select(page, "logger_1")
    page.locator('[data-field="message"]').fill("order {{ input.order_id }}")
    _select(page, "conditional_1")
    page.locator('[data-field="expression"]').fill("input.total > 100")
    _select(page, "logger_2")
    page.locator('[data-field="message"]').fill("small order")
    _select(page, "transform_1")
    page.locator('[data-field="template"]').fill('{"big": "{{ input.total "}')
    # then the problem shows on that node, and nowhere else
    broken = page.locator('[data-node-id="transform_1"]')
    expect(page.locator(".canvas-node.has-errors")).to_have_count(1)
    expect(broken.locator(".canvas-node-problems")).to_be_visible()
    screenshot(page, "designer-problem")
    # when they fix it
    page.locator('[data-field="template"]').fill('{"big": "{{ input.total }}"}')
    expect(page.locator(".canvas-node.has-errors")).to_have_count(0)
    expect(page.locator(".validity")).to_have_text("valid")
    # and save
    page.get_by_role("button", name="Save").click()
    page.get_by_label("Change note").fill("first cut")
    page.get_by_role("dialog").get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved as version 1.")).to_be_visible()
    workflow = Workflow.objects.get(name="orders")
    definition = workflow.current_version.definition
    assert {(e["source"], e["target"], e.get("sourceHandle")) for e in definition["edges"]} == {
        ("logger_1", "conditional_1", None), ("conditional_1", "transform_1", "true"),
        ("conditional_1", "logger_2", "false")}
    assert page.url.endswith(f"/workflows/{workflow.pk}/")
    # when they change a node of the saved workflow (now its shared draft) and publish it
    expect(page.locator(".draft-link")).to_have_attribute("data-state", "live")
    _select(page, "logger_2")
    page.locator('[data-field="message"]').fill("a small order")
    expect(page.locator(".unsaved")).to_have_text("unpublished changes")
    page.keyboard.press("Control+s")
    page.get_by_label("Change note").fill("wording")
    page.get_by_role("dialog").get_by_role("button", name="Publish").click()
    expect(page.get_by_text("Version 2 published. Co-authors: designer.")).to_be_visible()
    # then version 2's diff against 1 marks the changed node on the canvas and in the list
    page.get_by_role("tab", name="Versions").click()
    expect(page.locator('[data-version="2"]')).to_contain_text("wording")
    page.get_by_role("button", name="Show diff").click()
    expect(page.locator('[data-node-id="logger_2"]')).to_have_class(
        "canvas-node utility diff-changed")
    expect(page.locator(".diff-list")).to_contain_text("node logger_2: data.message")
    screenshot(page, "designer-diff")
    assert serious_accessibility_violations(page) == []


def test_edits_are_kept_in_the_draft_and_a_version_saved_elsewhere_is_merged_not_lost(
        open_page, designer, editor):
    workflow = workflow_from({"name": "shared", "nodes": [
        {"id": "hello", "type": "Logger", "data": {"message": "hi"}}]})
    page = open_page(designer, f"/workflows/{workflow.pk}/")
    _select(page, "hello")
    page.locator('[data-field="message"]').fill("hi from the designer")
    expect(page.locator(".unsaved")).to_have_text("unpublished changes")
    _draft_holds(page, workflow, "hello", "hi from the designer")
    # when the page is reloaded, the edit is still there: it is in the shared draft
    page.reload()
    _select(page, "hello")
    expect(page.locator('[data-field="message"]')).to_have_value("hi from the designer")
    # when someone else saves a version through the API, adding a node
    elsewhere = open_page(editor, "/")
    assert elsewhere.evaluate(SAVE_THROUGH_THE_API, [str(workflow.pk), {
        "change_note": "theirs", "definition": {
            "name": "shared", "edges": [{"source": "hello", "target": "bye"}], "nodes": [
                {"id": "hello", "type": "Logger", "data": {"message": "hi"}},
                {"id": "bye", "type": "Logger", "data": {"message": "bye"}}]}}]) == 200
    # then their version is merged into the draft, and the designer says so
    expect(page.get_by_text(
        "Version 2, saved by editor outside the designer, was merged into the draft.")
    ).to_be_visible()
    expect(page.locator('[data-node-id="bye"]')).to_be_visible()
    expect(page.locator('[data-field="message"]')).to_have_value("hi from the designer")
    # and publishing makes a version with both, nothing overwritten
    page.keyboard.press("Control+s")
    page.get_by_label("Change note").fill("mine and theirs")
    page.get_by_role("dialog").get_by_role("button", name="Publish").click()
    expect(page.get_by_text("Version 3 published.")).to_be_visible()
    workflow.refresh_from_db()
    assert {node["id"]: node["data"]["message"]
            for node in workflow.current_version.definition["nodes"]} == {
        "hello": "hi from the designer", "bye": "bye"}


def _draft_holds(page, workflow, node_id: str, message: str) -> None:
    """Wait until the server's draft holds `message` in the node (the edit is stored)."""
    path = f"/api/collaboration/workflows/{workflow.pk}/draft"
    for _ in range(50):
        nodes = page.request.get(path).json()["definition"]["nodes"]
        if any(node["id"] == node_id and node["data"]["message"] == message for node in nodes):
            return
        page.wait_for_timeout(200)
    raise AssertionError(f"the draft does not hold {message!r} in {node_id}")


def test_a_viewer_sees_the_graph_but_no_palette_or_edit_controls(open_page, viewer, screenshot):
    workflow = workflow_from({"name": "readonly", "nodes": [
        {"id": "a", "type": "Logger", "name": XSS, "data": {"message": XSS}},
        {"id": "b", "type": "Logger", "data": {"message": "b"}}],
        "edges": [{"source": "a", "target": "b"}]})
    schedule_create(workflow=workflow, name="nightly", cron="0 3 * * *",
                    timezone="Europe/Berlin", actor=None)
    page = open_page(viewer, f"/workflows/{workflow.pk}/")
    expect(page.locator('[data-node-id="a"]')).to_contain_text(XSS)
    assert page.locator("img[src=x]").count() == 0
    expect(page.locator(".palette")).to_have_count(0)
    expect(page.get_by_role("button", name="Save")).to_have_count(0)
    expect(page.get_by_role("button", name="Publish")).to_have_count(0)
    expect(page.locator(".draft-link")).to_have_text("Live, read-only")
    _select(page, "a")
    expect(page.locator('[data-field="message"]')).to_be_disabled()
    expect(page.locator('[data-field="message"]')).to_have_value(XSS)
    page.get_by_role("tab", name="Workflow").click()
    expect(page.locator(".triggers-summary")).to_contain_text("nightly")
    expect(page.get_by_label("Description")).to_be_disabled()
    screenshot(page, "designer-viewer")
    assert serious_accessibility_violations(page) == []


def test_a_workflow_is_imported_from_a_yaml_file(open_page, designer, tmp_path):
    document = tmp_path / "imported.yaml"
    document.write_text("name: imported\nnodes:\n  - id: only\n    type: Logger\n"
                        "    data: {message: hello}\n")
    page = open_page(designer, "/")
    page.get_by_label("Workflow file to import").set_input_files(str(document))
    expect(page.locator('[data-node-id="only"]')).to_be_visible()
    assert Workflow.objects.filter(name="imported").exists()


def test_undo_redo_copy_paste_delete_layout_and_the_text_view_stay_in_step(
        open_page, designer):
    workflow = workflow_from({"name": "tools", "nodes": [
        {"id": "first", "type": "Logger", "data": {"message": "one"}},
        {"id": "second", "type": "Logger", "data": {"message": "two"}}],
        "edges": [{"source": "first", "target": "second"}]})
    page = open_page(designer, f"/workflows/{workflow.pk}/")
    nodes = page.locator(".react-flow__node")
    expect(nodes).to_have_count(2)
    # copy and paste both nodes: two more, with fresh ids and the edge between them
    page.locator('[data-node-id="first"]').click()
    page.keyboard.press("Control+a")
    expect(page.locator(".react-flow__node.selected")).to_have_count(2)
    page.keyboard.press("Control+c")
    page.keyboard.press("Control+v")
    expect(nodes).to_have_count(4)
    expect(page.locator(".react-flow__edge")).to_have_count(2)
    # delete the pasted pair (still selected), undo brings them back, redo removes them
    page.keyboard.press("Delete")
    expect(nodes).to_have_count(2)
    page.keyboard.press("Control+z")
    expect(nodes).to_have_count(4)
    page.keyboard.press("Control+Shift+z")
    expect(nodes).to_have_count(2)
    # the text view shows the same graph; an edit there shows on the canvas
    page.get_by_role("tab", name="YAML / JSON").click()
    page.get_by_label("Format").select_option("json")
    text = page.get_by_label("Definition", exact=True)
    expect(text).to_contain_text('"id": "second"')
    document = json.loads(text.input_value())
    document["nodes"].append({"id": "third", "type": "Logger", "data": {"message": "3"}})
    document["edges"].append({"source": "second", "target": "third"})
    text.fill(json.dumps(document))
    expect(page.locator('[data-node-id="third"]')).to_be_visible()
    # auto-layout puts the chain left to right
    page.get_by_role("button", name="Auto-layout").click()
    xs = [page.locator(f'[data-node-id="{node_id}"]').bounding_box()["x"]
          for node_id in ("first", "second", "third")]
    assert xs == sorted(xs) and xs[0] < xs[2]


def test_zoomed_far_out_the_text_is_hidden_but_still_named_and_zooming_in_shows_it(
        open_page, designer, screenshot):
    workflow = workflow_from({"name": "far", "nodes": [
        {"id": "first", "type": "Logger", "name": "Say hello", "data": {"message": "one"}},
        {"id": "check", "type": "Conditional", "data": {"expression": "true"}}],
        "edges": [{"source": "first", "target": "check"}]})
    page = open_page(designer, f"/workflows/{workflow.pk}/")
    label = page.locator('[data-node-id="first"] .canvas-node-label')
    expect(label).to_have_text("Say hello")
    # when the author zooms out until the nodes are a few pixels tall
    zoom_out = page.get_by_role("button", name="Zoom Out")
    for _ in range(20):
        if page.locator(".canvas.far").count():
            break
        zoom_out.click()
    expect(page.locator(".canvas.far")).to_have_count(1)
    # then the nodes' text and handles are not painted, yet each node keeps its name
    expect(label).to_be_hidden()
    expect(page.locator('[data-node-id="check"] .react-flow__handle').first).to_be_hidden()
    expect(page.get_by_role("group", name="Say hello (Logger, first)")).to_be_visible()
    expect(page.get_by_role("group", name="check (Conditional)")).to_be_visible()
    screenshot(page, "designer-far")
    # and zooming back in shows them again
    page.get_by_role("button", name="Fit View").click()
    expect(page.locator(".canvas.far")).to_have_count(0)
    expect(label).to_be_visible()
