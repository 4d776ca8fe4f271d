"""Definitions stored before their numbers were bounded still run: the engine holds a
stored timeout, retry delay or wait within the settings' maxima where it reads them."""

from __future__ import annotations

import uuid

import pytest
from django.conf import settings

from executions import services
from executions.models import Bookmark
from tests.engine import wait_for, workflow_from

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True),
              pytest.mark.usefixtures("worker")]

HUGE = 1e300


def stored_as(definition: dict, *, change) -> object:
    """A workflow saved from `definition`, whose stored version is then rewritten by
    `change` as an older release would have let it be saved (no validation)."""
    workflow = workflow_from(definition)
    version = workflow.current_version
    stored = version.definition
    change(stored)
    type(version).objects.filter(pk=version.pk).update(definition=stored,
                                                        checksum=uuid.uuid4().hex)
    workflow.refresh_from_db()
    return workflow


def node_timeout(definition):
    definition["nodes"][0]["timeout"] = HUGE


def execution_timeout(definition):
    definition["settings"]["timeout"] = HUGE


def everything(definition):
    node_timeout(definition)
    execution_timeout(definition)
    definition["nodes"][0]["retry"] = {"initial_delay": HUGE, "max_delay": HUGE,
                                       "backoff": HUGE, "max_attempts": HUGE}
    definition["settings"]["max_retries"] = HUGE


@pytest.mark.parametrize("unbound", [node_timeout, execution_timeout, everything])
def test_a_stored_unbounded_timeout_and_retry_policy_still_run_to_completion(unbound):
    # given a version whose node says `timeout: 1e300`, or whose settings say
    # `timeout: 1e300`, or both with a retry policy of 1e300 seconds and attempts

    workflow = stored_as({"name": "huge", "namespace": "bounds", "nodes": [
        {"id": "a", "type": "Transform", "data": {"template": "{{ input.n + 1 }}"}}]},
        change=unbound)
    # when it runs on the worker
    execution, _ = services.execution_start(workflow=workflow, input={"n": 1})
    execution = wait_for(execution)
    # then its node completed, and the execution's deadline is within the maximum
    assert execution.status == "completed", execution.error
    assert execution.output == {"a": 2}
    assert (execution.deadline - execution.started_at).total_seconds() <= (
        settings.WORKFLOW_EXECUTION_TIMEOUT_MAX)


def test_a_stored_unbounded_wait_timeout_opens_its_wait():
    # given a version whose person's task says `timeout: 1e300`
    def unbound(definition):
        definition["nodes"][0]["data"]["timeout"] = HUGE

    workflow = stored_as({"name": "huge-wait", "namespace": "bounds", "nodes": [
        {"id": "ask", "type": "UserAction", "data": {"assignee": "ops", "prompt": "Go?"}}]},
        change=unbound)
    # when it runs
    execution, _ = services.execution_start(workflow=workflow, input={})
    execution = wait_for(execution, statuses=("waiting", "failed", "completed"))
    # then it waits, its wait expiring within the maximum
    assert execution.status == "waiting", execution.error
    wait = Bookmark.objects.get(execution=execution, node_id="ask")
    assert (wait.due_at - wait.created_at).total_seconds() <= settings.WORKFLOW_WAIT_MAX + 60
