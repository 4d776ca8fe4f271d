"""Pause, resume and retry, on real workers and over the API."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from executions import services
from tests.engine import node_states, wait_for, workflow_from

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True),
              pytest.mark.usefixtures("worker", "test_node_types")]


def chain(name: str, *nodes: dict) -> dict:
    return {"name": name, "namespace": "control", "nodes": list(nodes),
            "edges": [{"source": a["id"], "target": b["id"]} for a, b in zip(
                nodes, nodes[1:], strict=False)]}


def transform(node_id: str, value) -> dict:
    return {"id": node_id, "type": "Transform", "data": {"template": value}}


def until(predicate, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def test_pause_lets_the_running_node_finish_and_holds_the_rest_until_resume():
    # given a -> b where a is still running
    execution, _ = services.execution_start(workflow=workflow_from(chain(
        "pause", {"id": "a", "type": "Sleep", "data": {"seconds": 1}}, transform("b", "done"),
    )), input={})
    until(lambda: execution.nodes.get(node_id="a").status == "running")
    # when it is paused
    services.execution_pause(execution=execution)
    # then a finishes but b does not start
    until(lambda: execution.nodes.get(node_id="a").status == "completed")
    time.sleep(0.5)
    execution.refresh_from_db()
    assert execution.status == "paused"
    assert execution.nodes.get(node_id="b").status == "pending"
    # and once resumed, b runs and the execution completes
    services.execution_resume(execution=execution)
    execution = wait_for(execution)
    assert execution.status == "completed" and execution.output == {"b": "done"}


def test_retry_reruns_the_failed_node_and_keeps_completed_outputs():
    # given a -> b where b failed for good
    flow = workflow_from(chain(
        "retry", transform("a", "kept"),
        {"id": "b", "type": "Flaky", "data": {"fail_times": 1}, "retry": {"max_attempts": 1}},
    ))
    execution, _ = services.execution_start(workflow=flow, input={})
    execution = wait_for(execution)
    assert execution.status == "failed"
    # when it is retried
    services.execution_retry(execution=execution)
    execution = wait_for(execution)
    # then b ran again and a did not
    assert execution.status == "completed", execution.error
    assert node_states(execution) == {"a": "completed", "b": "completed"}
    assert execution.logs.filter(event="node.running", node_id="a").count() == 1
    assert execution.logs.filter(event="node.running", node_id="b").count() == 2


def test_a_retried_run_keeps_the_timeout_its_trigger_gave_it():
    # given a run whose trigger gave it 120 s (the workflow says 1800), failed for good
    flow = workflow_from(chain(
        "retry-timeout", transform("a", "kept"),
        {"id": "b", "type": "Flaky", "data": {"fail_times": 1}, "retry": {"max_attempts": 1}},
    ))
    execution, _ = services.execution_start(workflow=flow, input={}, timeout=120)
    execution = wait_for(execution)
    assert execution.status == "failed"
    # when it is retried
    before = timezone.now()
    retried = services.execution_retry(execution=execution)
    # then its new deadline is 120 s after the retry, not the workflow's 1800 s
    assert timedelta(seconds=120) <= retried.deadline - before < timedelta(seconds=600)
    assert wait_for(execution).status == "completed"


def test_retry_from_a_chosen_node_reruns_it_and_what_follows():
    flow = workflow_from(chain(
        "retry-from", transform("a", "first"),
        {"id": "b", "type": "Flaky", "data": {"fail_times": 1}, "retry": {"max_attempts": 1}},
    ))
    execution, _ = services.execution_start(workflow=flow, input={})
    wait_for(execution)
    services.execution_retry(execution=execution, from_node="a")
    execution = wait_for(execution)
    assert execution.status == "completed"
    assert execution.logs.filter(event="node.running", node_id="a").count() == 2


def test_control_over_the_api(client_for, operator, viewer):
    flow = workflow_from(chain("api-control", {"id": "ask", "type": "UserAction",
                                               "data": {"assignee": "x", "prompt": "?"}}))
    execution, _ = services.execution_start(workflow=flow, input={})
    wait_for(execution, statuses=("waiting",))
    client = client_for(operator)
    assert client_for(viewer).post(f"/api/executions/{execution.pk}/pause").status_code == 403
    paused = client.post(f"/api/executions/{execution.pk}/pause")
    assert paused.status_code == 202 and paused.json()["status"] == "paused"
    assert client.post(f"/api/executions/{execution.pk}/pause").status_code == 409
    resumed = client.post(f"/api/executions/{execution.pk}/resume")
    assert resumed.status_code == 202
    wait_for(execution, statuses=("waiting",))
    not_failed = client.post(f"/api/executions/{execution.pk}/retry", {}, format="json")
    assert not_failed.status_code == 409 and not_failed.json()["code"] == "illegal_transition"


def limited(name: str, concurrency: int, overlap: str) -> dict:
    return {"name": name, "namespace": "control",
            "settings": {"concurrency": concurrency, "overlap": overlap},
            "nodes": [{"id": "ask", "type": "UserAction",
                       "data": {"assignee": "ops", "prompt": "?", "outcomes": ["done"]}}],
            "edges": []}


def test_concurrency_one_with_queue_runs_the_next_when_the_first_ends():
    # given a workflow that runs one execution at a time and queues the rest
    flow = workflow_from(limited("one-at-a-time", 1, "queue"))
    first, _ = services.execution_start(workflow=flow, input={})
    second, _ = services.execution_start(workflow=flow, input={})
    # then the second waits in the queue while the first runs
    wait_for(first, statuses=("waiting",))
    second.refresh_from_db()
    assert second.status == "pending"
    assert second.nodes.get().status == "pending"
    # when the first ends, the second starts
    services.execution_cancel(execution=first)
    assert wait_for(second, statuses=("waiting",)).status == "waiting"


def test_concurrency_one_with_skip_refuses_the_second_start(client_for, operator):
    flow = workflow_from(limited("skip-overlap", 1, "skip"))
    first, _ = services.execution_start(workflow=flow, input={})
    response = client_for(operator).post(f"/api/workflows/{flow.pk}/execute", {},
                                         format="json")
    assert response.status_code == 409 and response.json()["code"] == "concurrency_limit"
    assert wait_for(first, statuses=("waiting",)).status == "waiting"


def test_overlap_allow_ignores_the_limit():
    flow = workflow_from(limited("allow-overlap", 1, "allow"))
    runs = [services.execution_start(workflow=flow, input={})[0] for _ in range(2)]
    assert {wait_for(run, statuses=("waiting",)).status for run in runs} == {"waiting"}


def test_a_status_change_that_lost_a_race_is_retried_not_overwritten():
    from executions.errors import IllegalTransitionError
    from executions.models import Execution
    from executions.services.transitions import execution_transition

    # given two copies of one waiting execution, as two processes would hold them
    flow = workflow_from(limited("race", 0, "allow"))
    execution, _ = services.execution_start(workflow=flow, input={})
    wait_for(execution, statuses=("waiting",))
    first, second = (Execution.objects.get(pk=execution.pk) for _ in range(2))
    # when the first pauses it and the second, unaware, also pauses it
    execution_transition(first, "paused")
    # then the second's change is refused from the state that won (paused -> paused is
    # not a move), instead of overwriting it
    with pytest.raises(IllegalTransitionError):
        execution_transition(second, "paused")
    # and a stale copy whose move is still allowed from the new state goes through once
    stale = Execution.objects.get(pk=execution.pk)
    Execution.objects.filter(pk=execution.pk).update(lock_version=stale.lock_version + 1)
    execution_transition(stale, "cancelled")
    execution.refresh_from_db()
    assert execution.status == "cancelled" and execution.lock_version == stale.lock_version
    events = list(execution.logs.values_list("event", flat=True))
    assert events.count("execution.paused") == 1 and events.count("execution.cancelled") == 1


def test_a_failure_runs_the_compensations_of_completed_nodes_in_reverse_order():
    # given reserve -> ship -> charge, where reserve and ship name their undoing nodes
    definition = {"name": "saga", "namespace": "control", "nodes": [
        {"id": "reserve", "type": "Transform", "data": {"template": "r-1"},
         "compensation": "release"},
        {"id": "ship", "type": "Transform", "data": {"template": "s-1"},
         "compensation": "unship"},
        {"id": "charge", "type": "Validator", "data": {"value": "{{ input }}",
                                                       "schema": {"required": ["card"]}}},
        {"id": "release", "type": "Logger", "data": {"message": "release {{ nodes.reserve }}"}},
        {"id": "unship", "type": "Logger", "data": {"message": "unship {{ nodes.ship }}"}},
    ], "edges": [{"source": "reserve", "target": "ship"}, {"source": "ship", "target": "charge"}]}
    # when charge fails
    execution, _ = services.execution_start(workflow=workflow_from(definition), input={})
    execution = wait_for(execution)
    # then ship is undone before reserve, and the execution fails with charge's error
    assert execution.status == "failed"
    assert execution.error["node"] == "charge"
    completed = list(execution.logs.filter(event="node.completed").values_list(
        "node_id", flat=True))
    assert completed == ["reserve", "ship", "unship", "release"]
    messages = list(execution.logs.filter(event="node.message").values_list(
        "message", flat=True))
    assert messages == ["unship s-1", "release r-1"]


def test_compensating_nodes_do_not_run_when_all_goes_well():
    definition = {"name": "saga-ok", "namespace": "control", "nodes": [
        {"id": "reserve", "type": "Transform", "data": {"template": 1},
         "compensation": "release"},
        {"id": "release", "type": "Logger", "data": {"message": "release"}},
    ], "edges": []}
    execution, _ = services.execution_start(workflow=workflow_from(definition), input={})
    execution = wait_for(execution)
    assert execution.status == "completed" and execution.output == {"reserve": 1}
    assert node_states(execution) == {"reserve": "completed"}


def test_a_node_that_needs_a_person_suspends_and_resume_reruns_it():
    # given a node that fails once, in a workflow that suspends on failure
    definition = {"name": "suspend", "namespace": "control",
                  "settings": {"on_failure": "suspend"}, "nodes": [
                      {"id": "flaky", "type": "Flaky", "data": {"fail_times": 1},
                       "retry": {"max_attempts": 1}},
                      transform("after", "went on")],
                  "edges": [{"source": "flaky", "target": "after"}]}
    execution, _ = services.execution_start(workflow=workflow_from(definition), input={})
    # then the execution is suspended, naming the node, and nothing after it ran
    execution = wait_for(execution, statuses=("suspended", "failed", "completed"))
    assert execution.status == "suspended" and execution.error["node"] == "flaky"
    assert node_states(execution) == {"flaky": "failed", "after": "pending"}
    # when a person resumes it, the failed node runs again and the rest follows
    services.execution_resume(execution=execution)
    execution = wait_for(execution)
    assert execution.status == "completed" and execution.error is None
    assert execution.output == {"after": "went on"}
