"""The run monitor: a run's graph coloured live by its nodes' statuses, a node's runs,
output and log, the controls (pause, resume, cancel, retry from a node) for those who may
execute, and "Run again" through the run dialog."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from executions import services
from executions.services import waits
from tests.engine import wait_for, workflow_from
from tests.ui.conftest import serious_accessibility_violations
from tests.workers import celery_beat

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture
def live_updates(worker, tmp_path):
    """A real `celery beat` beside the session's worker: its housekeeping tick (every
    second) publishes the committed execution events to the websockets and hands out the
    timers whose time has come, as in production."""
    with celery_beat(tmp_path / "beat"):
        yield


def fire_delays() -> None:
    """Hand out every timer as though its time had come (what beat does when it has)."""
    waits.timers_fire(now=timezone.now() + timedelta(hours=1))


def node(page, node_id: str):
    return page.locator(f".run-node[data-node-id='{node_id}']")


def branching(name: str) -> dict:
    """A delay, a variable, then a branch: the true side transforms, the false side logs."""
    return {
        "name": name, "namespace": "monitor",
        "inputs": {"type": "object", "properties": {"who": {"type": "string", "minLength": 2}},
                   "required": ["who"]},
        "nodes": [
            {"id": "pause", "type": "Delay", "name": "Wait a moment", "data": {"seconds": 60}},
            {"id": "remember", "type": "Variable", "name": "Remember the greeting",
             "data": {"set": {"greeting": "hello {{ input.who }}"}}},
            {"id": "check", "type": "Conditional", "name": "Is it Ada?",
             "data": {"expression": "input.who == 'ada'"}},
            {"id": "greet", "type": "Transform", "name": "Greet",
             "data": {"template": {"text": "{{ vars.greeting }}!"}}},
            {"id": "shrug", "type": "Logger", "name": "Shrug", "data": {"message": "not ada"}},
        ],
        "edges": [
            {"source": "pause", "target": "remember"},
            {"source": "remember", "target": "check"},
            {"source": "check", "target": "greet", "sourceHandle": "true"},
            {"source": "check", "target": "shrug", "sourceHandle": "false"},
        ],
    }


def test_a_run_turns_completed_live_and_a_node_shows_its_output(
        open_page, designer, live_updates, screenshot):
    # given a run waiting on its delay, open in the monitor
    workflow = workflow_from(branching("greeting"))
    execution, _ = services.execution_start(workflow=workflow, input={"who": "ada"},
                                            actor=designer)
    wait_for(execution, statuses=("waiting",))
    page = open_page(designer, f"/runs/{execution.pk}/")
    expect(page.get_by_role("heading", name="Run of monitor/greeting")).to_be_visible()
    expect(page.locator(".live")).to_have_text("Live")
    expect(node(page, "pause")).to_have_attribute("data-status", "waiting")
    expect(node(page, "greet")).to_have_attribute("data-status", "pending")
    expect(node(page, "greet")).to_contain_text("pending")

    # when the delay's time comes
    fire_delays()

    # then each node turns completed on the page, the branch not taken skipped
    for node_id in ("pause", "remember", "check", "greet"):
        expect(node(page, node_id)).to_have_attribute("data-status", "completed")
    expect(node(page, "shrug")).to_have_attribute("data-status", "skipped")
    expect(node(page, "greet")).to_contain_text("completed")
    expect(page.locator(".run-status")).to_have_text("completed")
    # and a node clicked shows its output and its log
    node(page, "greet").click()
    panel = page.get_by_role("complementary")
    expect(panel.get_by_role("heading", name="Greet")).to_be_visible()
    expect(panel.get_by_label("Output of attempt 1")).to_contain_text('"text": "hello ada!"')
    expect(panel.locator(".node-logs")).to_contain_text("node.completed")
    # and the timeline has a bar per node run, labelled
    expect(page.get_by_role("img", name="greet, attempt 1: completed")).to_have_count(1)
    expect(page.get_by_role("link", name="monitor/greeting")).to_have_attribute(
        "href", f"/workflows/{workflow.pk}/")
    # and the run's output is shown once it finished
    expect(page.get_by_label("Output", exact=True)).to_be_visible()
    expect(page.get_by_label("Output", exact=True)).to_contain_text('"text": "hello ada!"')
    screenshot(page, "monitor")
    assert serious_accessibility_violations(page) == []


def test_pause_resume_and_cancel_from_the_monitor(open_page, operator, live_updates, screenshot):
    # given a run waiting on a long delay
    workflow = workflow_from(branching("controlled"))
    execution, _ = services.execution_start(workflow=workflow, input={"who": "bob"})
    wait_for(execution, statuses=("waiting",))
    page = open_page(operator, f"/runs/{execution.pk}/")
    status = page.locator(".run-status")
    expect(status).to_have_text("waiting")
    expect(page.get_by_role("button", name="Resume")).to_be_disabled()
    expect(page.get_by_role("button", name="Retry", exact=True)).to_be_disabled()

    # when it is paused
    page.get_by_role("button", name="Pause").click()
    # then it is paused, and only resume and cancel are offered
    expect(status).to_have_text("paused")
    expect(page.get_by_role("button", name="Pause")).to_be_disabled()
    expect(page.get_by_role("button", name="Resume")).to_be_enabled()

    # when it is resumed, it waits on its delay again
    page.get_by_role("button", name="Resume").click()
    expect(status).to_have_text("waiting")
    # and when it is cancelled
    page.get_by_role("button", name="Cancel").click()
    expect(status).to_have_text("cancelled")
    expect(node(page, "pause")).to_have_attribute("data-status", "cancelled")
    expect(page.get_by_role("button", name="Cancel")).to_be_disabled()
    screenshot(page, "monitor-cancelled")
    execution.refresh_from_db()
    assert execution.status == "cancelled"


def test_a_refused_control_shows_the_api_message(open_page, operator, worker):
    # given a waiting run that is cancelled after the page opened, its events not yet
    # published (nothing publishes them in this test), so the page still offers "Pause"
    workflow = workflow_from(branching("raced"))
    execution, _ = services.execution_start(workflow=workflow, input={"who": "bob"})
    wait_for(execution, statuses=("waiting",))
    page = open_page(operator, f"/runs/{execution.pk}/")
    expect(page.locator(".live")).to_have_text("Live")
    expect(page.locator(".run-status")).to_have_text("waiting")
    services.execution_cancel(execution=execution)

    # when the page's user pauses it
    page.get_by_role("button", name="Pause").click()

    # then the API's refusal is shown
    expect(page.get_by_role("alert")).to_contain_text("cancelled")


def test_retry_from_a_node_runs_it_again_and_the_run_recovers(open_page, operator, live_updates):
    # given a run failed at its check: the tally it checks was 1, the check wants 2 (the
    # tally counts in an execution variable, which a retry keeps)
    workflow = workflow_from({
        "name": "second-time", "namespace": "monitor",
        "nodes": [
            {"id": "count", "type": "Variable", "name": "Count the tries",
             "data": {"set": {"tries": "{{ (vars.tries | default(0)) + 1 }}"}}},
            {"id": "check", "type": "Validator", "name": "At least two",
             "data": {"value": "{{ vars.tries }}",
                      "schema": {"type": "integer", "minimum": 2}},
             "retry": {"max_attempts": 1}},
        ],
        "edges": [{"source": "count", "target": "check"}],
    })
    execution, _ = services.execution_start(workflow=workflow, input={})
    assert wait_for(execution).status == "failed"
    page = open_page(operator, f"/runs/{execution.pk}/")
    expect(page.locator(".run-status")).to_have_text("failed")
    expect(node(page, "check")).to_have_attribute("data-status", "failed")
    expect(page.get_by_role("button", name="Retry", exact=True)).to_be_enabled()
    expect(page.get_by_role("button", name="Pause")).to_be_disabled()
    node(page, "check").click()
    panel = page.get_by_role("complementary")
    expect(panel.get_by_label("Error of attempt 1")).to_contain_text("minimum")
    node(page, "count").click()
    expect(panel.get_by_label("Output of attempt 1")).to_contain_text('"tries": 1')
    expect(panel.locator(".node-logs li[data-event='node.running']")).to_have_count(1)

    # when the run is retried from the tally
    panel.get_by_role("button", name="Retry from this node").click()

    # then the tally ran again (a second run in its log, a new value) and the check passed
    expect(page.locator(".run-status")).to_have_text("completed")
    expect(node(page, "check")).to_have_attribute("data-status", "completed")
    expect(panel.locator(".node-logs li[data-event='node.running']")).to_have_count(2)
    expect(panel.get_by_label("Output of attempt 1")).to_contain_text('"tries": 2')
    expect(panel.get_by_role("button", name="Retry from this node")).to_be_disabled()


def test_a_viewer_watches_a_run_without_any_control(open_page, viewer, worker):
    # given a run waiting on its delay
    workflow = workflow_from(branching("watched"))
    execution, _ = services.execution_start(workflow=workflow, input={"who": "bob"})
    wait_for(execution, statuses=("waiting",))

    # when a viewer opens its monitor and a node
    page = open_page(viewer, f"/runs/{execution.pk}/")
    expect(node(page, "pause")).to_have_attribute("data-status", "waiting")
    expect(page.locator(".run-status")).to_have_text("waiting")
    node(page, "pause").click()

    # then the graph and the statuses are there, and no control at all
    expect(page.get_by_role("complementary").get_by_role("heading", name="Wait a moment")
           ).to_be_visible()
    for name in ("Pause", "Resume", "Cancel", "Retry", "Run again", "Retry from this node"):
        expect(page.get_by_role("button", name=name, exact=True)).to_have_count(0)


def test_names_and_data_with_markup_show_as_text(open_page, operator, worker):
    # given a run of a node whose name and data hold markup
    workflow = workflow_from({"name": "markup", "namespace": "monitor", "nodes": [
        {"id": "say", "type": "Logger", "name": XSS, "data": {"message": XSS}}]})
    execution, _ = services.execution_start(workflow=workflow, input={"note": XSS})
    assert wait_for(execution).status == "completed"

    # when the monitor shows it, the node open
    page = open_page(operator, f"/runs/{execution.pk}/")
    expect(node(page, "say")).to_have_attribute("data-status", "completed")
    node(page, "say").click()

    # then the markup is text, never an element
    expect(node(page, "say")).to_contain_text(XSS)
    panel = page.get_by_role("complementary")
    expect(panel.get_by_role("heading", name=XSS)).to_be_visible()
    expect(panel.get_by_label("Output of attempt 1")).to_contain_text(XSS)
    page.get_by_text("Input", exact=True).click()
    expect(page.get_by_label("Input", exact=True)).to_contain_text(XSS)
    expect(page.locator("img[src=x]")).to_have_count(0)


def test_run_again_shows_the_input_errors_on_the_fields_then_opens_the_new_run(
        open_page, operator, worker, screenshot):
    # given a run of a workflow whose input `who` needs two characters at least
    workflow = workflow_from(branching("again"))
    execution, _ = services.execution_start(workflow=workflow, input={"who": "bob"})
    page = open_page(operator, f"/runs/{execution.pk}/")

    # when it is run again with a one-letter name
    page.get_by_role("button", name="Run again").click()
    dialog = page.get_by_role("dialog", name="Run the workflow")
    who = dialog.get_by_label("who")
    expect(who).to_have_value("bob")
    who.fill("x")
    dialog.get_by_role("button", name="Run").click()

    # then the API's objection is on the field
    expect(who).to_have_attribute("aria-invalid", "true")
    expect(dialog.locator(".field-error")).to_contain_text("too short")
    screenshot(page, "run-dialog")
    assert serious_accessibility_violations(page) == []

    # and once corrected, the new run opens
    who.fill("grace")
    dialog.get_by_role("button", name="Run").click()
    expect(page).not_to_have_url(f"/runs/{execution.pk}/")
    expect(page.get_by_role("heading", name="Run of monitor/again")).to_be_visible()
    page.get_by_text("Input", exact=True).click()
    expect(page.get_by_label("Input", exact=True)).to_contain_text('"who": "grace"')


def test_after_a_lost_connection_the_monitor_reconnects_and_catches_up(
        open_page, operator, live_updates):
    # given a monitor whose websocket goes through the test, so the test can cut it
    workflow = workflow_from(branching("reconnects"))
    execution, _ = services.execution_start(workflow=workflow, input={"who": "ada"})
    wait_for(execution, statuses=("waiting",))
    page = open_page(operator, "/")
    sockets: list = []
    cut = threading.Event()

    def through(route) -> None:
        if cut.is_set():
            route.close()
        else:
            sockets.append(route)
            route.connect_to_server()

    page.route_web_socket("**/ws/executions/**", through)
    page.goto(f"/runs/{execution.pk}/")
    expect(page.locator(".live")).to_have_text("Live")
    expect(node(page, "pause")).to_have_attribute("data-status", "waiting")

    # when the connection is lost, and the run finishes meanwhile
    cut.set()
    sockets[-1].close()
    expect(page.locator(".live")).to_have_text("Reconnecting…")
    fire_delays()
    assert wait_for(execution).status == "completed"
    expect(node(page, "greet")).to_have_attribute("data-status", "pending")

    # then once the server is reachable again, the page reconnects and shows the outcome
    cut.clear()
    expect(page.locator(".live")).to_have_text("Live", timeout=15_000)
    expect(node(page, "greet")).to_have_attribute("data-status", "completed")
    expect(page.locator(".run-status")).to_have_text("completed")
    node(page, "greet").click()
    expect(page.get_by_role("complementary").get_by_label("Output of attempt 1")).to_contain_text(
        "hello ada!")


def test_a_loop_lists_its_iterations_and_each_opens_on_its_body(open_page, viewer, worker):
    # given a run whose loop doubled two items in an inline body
    workflow = workflow_from({"name": "doubles", "namespace": "monitor", "nodes": [
        {"id": "each", "type": "Loop", "name": "For each number",
         "data": {"items": "input.numbers", "body": {"nodes": [
             {"id": "double", "type": "Transform", "name": "Double it",
              "data": {"template": "{{ item * 2 }}"}}]}}}]})
    execution, _ = services.execution_start(workflow=workflow, input={"numbers": [5, 21]})
    assert wait_for(execution).status == "completed"

    # when the loop node is opened in the monitor
    page = open_page(viewer, f"/runs/{execution.pk}/")
    node(page, "each").click()
    panel = page.get_by_role("complementary")

    # then its iterations are counted and listed
    expect(panel.locator("section", has_text="Child runs")).to_contain_text("2 in all, 2 started")
    expect(panel.get_by_role("link", name="Item 0")).to_be_visible()

    # and an iteration opens on the loop's body, with its own output
    panel.get_by_role("link", name="Item 1").click()
    expect(node(page, "double")).to_have_attribute("data-status", "completed")
    expect(page.get_by_role("link", name="each")).to_be_visible()
    node(page, "double").click()
    expect(page.get_by_role("complementary").get_by_label("Output of attempt 1")).to_have_text("42")


def test_the_monitor_of_a_hundred_node_fan_out_shows_every_node_finish_live(
        open_page, viewer, live_updates):
    # given a run of a delay fanning out to a hundred nodes, open in the monitor, its
    # websocket passing through the test (which keeps what the server sent)
    branches = [f"n{number:03d}" for number in range(100)]
    workflow = workflow_from({
        "name": "fan-out", "namespace": "monitor",
        "nodes": [{"id": "pause", "type": "Delay", "data": {"seconds": 60}}] + [
            {"id": branch, "type": "Transform", "data": {"template": branch}}
            for branch in branches],
        "edges": [{"source": "pause", "target": branch} for branch in branches]})
    execution, _ = services.execution_start(workflow=workflow, input={})
    wait_for(execution, statuses=("waiting",))
    page = open_page(viewer, "/")
    sockets: list = []
    frames: list[dict] = []

    def through(route) -> None:
        server = route.connect_to_server()

        def forward(message) -> None:
            frames.append(json.loads(message))
            route.send(message)

        server.on_message(forward)
        sockets.append(route)

    page.route_web_socket("**/ws/executions/**", through)
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(f"/runs/{execution.pk}/")
    expect(page.locator(".live")).to_have_text("Live")
    expect(page.locator(".run-node[data-status='pending']")).to_have_count(100)

    # when the delay ends and the hundred nodes run
    fire_delays()
    assert wait_for(execution, timeout=120).status == "completed"

    # then every node turns completed on the page, each told by its own event
    completed = page.locator(".run-node[data-status='completed']")
    expect(completed).to_have_count(101, timeout=30_000)
    expect(page.locator(".run-status")).to_have_text("completed")
    told = {frame["node"] for frame in frames if frame.get("event") == "node.completed"}
    assert told == {"pause", *branches}
    # and the page read the run's detail a few times in all, not once per event
    detail_reads = [url for url in requests if url.endswith(f"/api/executions/{execution.pk}")]
    assert 1 <= len(detail_reads) <= 20, detail_reads

    # when the events arrive again, late and out of order (a dispatcher's batch published
    # twice), the page keeps the newest status of each node and of the run
    stale = [frame for frame in frames if frame.get("type") == "execution.event"]
    for frame in reversed(stale):
        sockets[-1].send(json.dumps(frame))
    # (then one newer event, so the test knows when the page has taken all of them)
    newest = max(frame["sequence"] for frame in stale)
    sockets[-1].send(json.dumps({**stale[-1], "sequence": newest + 1, "event": "node.failed",
                                 "node": "n099", "status": "failed"}))
    expect(node(page, "n099")).to_have_attribute("data-status", "failed")
    expect(completed).to_have_count(100)
    expect(page.locator(".run-node[data-status='running']")).to_have_count(0)
    expect(page.locator(".run-status")).to_have_text("completed")


def test_the_monitor_lays_a_run_out_as_the_designer_does(open_page, viewer, worker):
    # given a run of a chain saved without positions, and one the author placed by hand
    chain = workflow_from({"name": "chain", "namespace": "monitor", "nodes": [
        {"id": step, "type": "Transform", "data": {"template": step}}
        for step in ("first", "second", "third")], "edges": [
        {"source": "first", "target": "second"}, {"source": "second", "target": "third"}]})
    placed = workflow_from({"name": "placed", "namespace": "monitor", "nodes": [
        {"id": "low", "type": "Transform", "data": {"template": "1"},
         "position": {"x": 0, "y": 400}},
        {"id": "high", "type": "Transform", "data": {"template": "2"},
         "position": {"x": 0, "y": 0}}], "edges": [{"source": "low", "target": "high"}]})
    runs = [services.execution_start(workflow=workflow, input={})[0]
            for workflow in (chain, placed)]
    for run in runs:
        assert wait_for(run).status == "completed"

    # then the chain reads left to right, as the designer's auto-layout puts it
    page = open_page(viewer, f"/runs/{runs[0].pk}/")
    expect(node(page, "third")).to_have_attribute("data-status", "completed")
    boxes = [node(page, step).bounding_box() for step in ("first", "second", "third")]
    assert boxes[0]["x"] < boxes[1]["x"] < boxes[2]["x"]
    assert abs(boxes[0]["y"] - boxes[2]["y"]) < 2
    # and the placed workflow keeps its author's positions
    page.goto(f"/runs/{runs[1].pk}/")
    expect(node(page, "high")).to_have_attribute("data-status", "completed")
    low, high = node(page, "low").bounding_box(), node(page, "high").bounding_box()
    assert high["y"] < low["y"] and abs(high["x"] - low["x"]) < 2
