"""Telling dependents that a run ended: after its end commits, by a message, once; by the
sweeper when the message was lost; before a retry when it had not happened yet. The
engine is stepped in this process (`Messages`)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from executions import dispatch, services
from executions.models import Execution, ExecutionStatus
from executions.services import sweeper
from executions.services.dependents import dependents_settle
from executions.services.transitions import execution_transition
from tests.engine import Messages, workflow_from
from workflows.models import WorkflowDependency

pytestmark = pytest.mark.django_db


def definition(name: str, *upstreams: str, condition: str = "completed") -> dict:
    return {"name": name, "namespace": "notify",
            "settings": {"dependencies": [{"workflow": up, "condition": condition}
                                          for up in upstreams]},
            "nodes": [{"id": "out", "type": "Transform", "data": {"template": 1}}]}


def running(messages: Messages, name: str) -> Execution:
    return messages.step(lambda: services.execution_start(
        workflow=workflow_from(definition(name)), input={}))[0]


def end(messages: Messages, execution: Execution, status: str = ExecutionStatus.COMPLETED):
    def transition():
        with transaction.atomic():
            execution_transition(execution, status, output={"out": 1})
    messages.step(transition)


def told(messages: Messages) -> list[tuple]:
    return messages.of(dispatch.DEPENDENTS_NOTIFY)


def deliver(messages: Messages) -> None:
    for (execution_id,) in told(messages):
        messages.step(lambda pk=execution_id: dependents_settle(execution_id=pk))


def test_a_run_nothing_depends_on_sends_nothing_and_is_marked_told_at_its_end():
    messages = Messages()
    execution = running(messages, "alone")
    end(messages, execution)
    execution.refresh_from_db()
    assert execution.dependents_notified_at == execution.finished_at is not None
    assert told(messages) == []


def test_the_dependent_starts_once_after_the_upstreams_end_commits():
    messages = Messages()
    upstream = running(messages, "up")
    dependent = workflow_from(definition("down", "up"))

    # an end that is rolled back tells nobody
    def rolled_back():
        with transaction.atomic():
            execution_transition(upstream, ExecutionStatus.COMPLETED, output={"out": 1})
            raise RuntimeError("the process dies before the commit")

    with pytest.raises(RuntimeError):
        messages.step(rolled_back)
    upstream.refresh_from_db()
    assert upstream.status == ExecutionStatus.RUNNING and told(messages) == []

    # the end that commits leaves the dependents to tell, and says so after the commit
    end(messages, upstream)
    upstream.refresh_from_db()
    assert upstream.dependents_notified_at is None
    assert told(messages) == [(str(upstream.pk),)]
    assert not Execution.objects.filter(workflow=dependent).exists()

    # the message starts the dependent with the upstream's output, once
    deliver(messages)
    started = Execution.objects.get(workflow=dependent)
    assert started.trigger == "dependency"
    assert started.input == {"dependencies": {"up": {"out": 1}}}
    upstream.refresh_from_db()
    assert upstream.dependents_notified_at is not None
    deliver(messages)  # delivered again
    assert Execution.objects.filter(workflow=dependent).count() == 1


def test_a_lost_message_is_made_good_by_the_sweeper():
    messages = Messages()
    upstream = running(messages, "lost-up")
    dependent = workflow_from(definition("lost-down", "lost-up"))
    end(messages, upstream)  # its message never arrives

    assert messages.step(sweeper.sweep)["dependents_notified"] == 0  # not late yet
    later = timezone.now() + timedelta(seconds=settings.WORKFLOW_DISPATCH_RESEND_AFTER + 1)
    assert messages.step(lambda: sweeper.sweep(now=later))["dependents_notified"] == 1
    assert Execution.objects.filter(workflow=dependent).count() == 1
    # the late message, or another pass, starts nothing more
    deliver(messages)
    assert messages.step(lambda: sweeper.sweep(now=later))["dependents_notified"] == 0
    assert Execution.objects.filter(workflow=dependent).count() == 1


def test_a_retry_before_the_message_still_tells_the_dependents_of_the_failure():
    messages = Messages()
    upstream = running(messages, "flaky-up")
    dependent = workflow_from(definition("on-failure", "flaky-up", condition="failed"))
    end(messages, upstream, ExecutionStatus.FAILED)
    assert told(messages) == [(str(upstream.pk),)]

    # retried at once, before the message is taken
    messages.step(lambda: services.execution_retry(execution=upstream))

    assert Execution.objects.filter(workflow=dependent, trigger="dependency").count() == 1
    deliver(messages)  # now late: the run is no longer ended, nothing more starts
    assert Execution.objects.filter(workflow=dependent).count() == 1


def test_a_child_execution_does_not_satisfy_a_dependency():
    messages = Messages()
    parent = running(messages, "parent")
    child = running(messages, "child")
    Execution.objects.filter(pk=child.pk).update(parent=parent)
    child.parent_id = parent.pk
    dependent = workflow_from(definition("after-child", "child"))

    end(messages, child)

    assert told(messages) == []
    assert not Execution.objects.filter(workflow=dependent).exists()
    assert WorkflowDependency.objects.get(dependent=dependent).satisfied_by is None
