"""Failures that meet an execution that is not simply running: a node failing while its
execution is paused, a timeout while it waits with compensations to run, and a retried
saga failing again. The engine is stepped in this process (`Messages`), every step
committed as the worker would."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from executions import dispatch, services
from executions.models import Execution
from executions.services import sweeper
from tests.engine import Messages, workflow_from
from workflows.nodes.faults import FatalFault
from workflows.nodes.registry import default_registry

pytestmark = pytest.mark.django_db


def run_sent(messages: Messages, execution: Execution) -> None:
    """Run every node message sent so far for `execution` and those they send, in order."""
    done = 0
    while done < len(messages.sent):
        message = messages.sent[done]
        done += 1
        if message.task == dispatch.NODE_RUN and message.args[0] == str(execution.pk):
            messages.step(lambda args=message.args: services.node_run(
                execution_id=args[0], node_id=args[1]))


@pytest.mark.parametrize("on_failure, ends", [("fail", "failed"), ("suspend", "suspended")])
def test_a_node_failing_while_its_execution_is_paused_is_acted_on_at_resume(on_failure, ends):
    # given a -> b, where a fails for good while the execution is being paused
    flow = workflow_from({"name": f"paused-{on_failure}", "namespace": "held",
                          "settings": {"on_failure": on_failure}, "nodes": [
        {"id": "a", "type": "Transform", "data": {"template": 1}, "retry": {"max_attempts": 1}},
        {"id": "b", "type": "Transform", "data": {"template": 2}},
    ], "edges": [{"source": "a", "target": "b"}]})
    messages = Messages()
    execution, _ = messages.step(lambda: services.execution_start(workflow=flow, input={}))

    def pause_then_fail(self, context):
        services.execution_pause(execution=Execution.objects.get(pk=context.execution_id))
        raise FatalFault("a failed while its execution was paused")

    transform = default_registry().get("Transform")
    with mock.patch.object(transform, "execute", pause_then_fail):
        messages.step(lambda: services.node_run(execution_id=str(execution.pk), node_id="a"))
    execution.refresh_from_db()
    assert execution.status == "paused" and execution.nodes.get(node_id="a").status == "failed"

    # when it is resumed
    messages.step(lambda: services.execution_resume(execution=execution))

    # then the failure takes effect as it would have while running: b never runs
    execution.refresh_from_db()
    assert execution.status == ends
    assert execution.error["node"] == "a"
    assert "paused" in execution.error["message"]
    assert execution.nodes.get(node_id="b").status in ("pending", "cancelled")


def test_a_timeout_while_waiting_runs_the_compensations_and_fails():
    # given reserve (undone by release) -> hold, where hold waits a day
    flow = workflow_from({"name": "held-saga", "namespace": "held", "settings": {"timeout": 60},
                          "nodes": [
        {"id": "reserve", "type": "Transform", "data": {"template": "r-1"},
         "compensation": "release"},
        {"id": "hold", "type": "Delay", "data": {"seconds": 86400}},
        {"id": "release", "type": "Logger", "data": {"message": "release {{ nodes.reserve }}"}},
    ], "edges": [{"source": "reserve", "target": "hold"}]})
    messages = Messages()
    execution, _ = messages.step(lambda: services.execution_start(workflow=flow, input={}))
    run_sent(messages, execution)
    execution.refresh_from_db()
    assert execution.status == "waiting"

    # when its deadline passes
    later = timezone.now() + timedelta(seconds=120)
    assert messages.step(lambda: sweeper.sweep(now=later))["timed_out"] == 1
    run_sent(messages, execution)

    # then release ran, and the execution failed with the timeout
    execution.refresh_from_db()
    assert execution.status == "failed", execution.status
    assert execution.error["fault"] == "timeout"
    assert execution.nodes.get(node_id="release").status == "completed"
    assert list(execution.logs.filter(event="node.message").values_list(
        "message", flat=True)) == ["release r-1"]
    # and a later pass does not time it out again
    assert messages.step(lambda: sweeper.sweep(now=later))["timed_out"] == 0


def test_a_retried_saga_that_fails_again_is_compensated_again():
    # given reserve (undone by release) -> charge, where charge fails every time
    flow = workflow_from({"name": "saga-again", "namespace": "held", "nodes": [
        {"id": "reserve", "type": "Transform", "data": {"template": "r-1"},
         "compensation": "release"},
        {"id": "charge", "type": "Validator", "data": {"value": "{{ input }}",
                                                       "schema": {"required": ["card"]}}},
        {"id": "release", "type": "Logger", "data": {"message": "release"}},
    ], "edges": [{"source": "reserve", "target": "charge"}]})
    messages = Messages()
    execution, _ = messages.step(lambda: services.execution_start(workflow=flow, input={}))
    run_sent(messages, execution)
    execution.refresh_from_db()
    assert execution.status == "failed"

    # when it is retried from reserve, and charge fails again
    messages.step(lambda: services.execution_retry(execution=execution, from_node="reserve"))
    run_sent(messages, execution)

    # then reserve was undone twice: once for each failure
    execution.refresh_from_db()
    assert execution.status == "failed" and execution.error["node"] == "charge"
    completed = list(execution.logs.filter(event="node.completed").values_list(
        "node_id", flat=True))
    assert completed == ["reserve", "release", "reserve", "release"]
