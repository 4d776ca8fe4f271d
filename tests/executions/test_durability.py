"""Retries, lost workers and deadlines: nothing is stuck "running", nothing runs twice."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from executions import services
from executions.models import Bookmark, Execution, NodeExecution
from executions.services import sweeper
from tests.engine import run, wait_for, workflow_from

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True),
              pytest.mark.usefixtures("worker", "test_node_types")]


def single(name: str, node: dict, **extra) -> dict:
    return {"name": name, "namespace": "durability", "nodes": [node], "edges": [], **extra}


def test_transient_faults_are_retried_with_backoff_until_success():
    # given a node that fails twice, with quick exponential backoff and no jitter
    node = {"id": "flaky", "type": "Flaky", "data": {"fail_times": 2},
            "retry": {"max_attempts": 3, "initial_delay": 0.2, "backoff": 2, "jitter": False}}
    # when it runs
    execution = run(single("flaky", node))
    # then the third attempt completes, after retries 0.2 s and 0.4 s apart
    assert execution.status == "completed", execution.error
    assert execution.output == {"flaky": {"attempt": 3}}
    retries = list(execution.logs.filter(event="node.retrying").order_by("id"))
    assert [entry.data["delay"] for entry in retries] == [0.2, 0.4]
    starts = list(execution.logs.filter(event="node.running").order_by("id"))
    gaps = [(later.created_at - earlier.created_at).total_seconds()
            for earlier, later in zip(starts, starts[1:], strict=False)]
    assert gaps[0] >= 0.2 and gaps[1] >= 0.4


def test_attempts_spent_fail_the_node_and_the_execution():
    node = {"id": "flaky", "type": "Flaky", "data": {"fail_times": 5},
            "retry": {"max_attempts": 2, "initial_delay": 0.05, "jitter": False}}
    execution = run(single("spent", node))
    assert execution.status == "failed"
    row = execution.nodes.get(node_id="flaky")
    assert row.attempt == 2 and row.error["fault"] == "transient"


def test_a_long_retry_waits_in_the_database_and_the_sweeper_sends_it():
    # given a retry delay longer than the broker countdown allows
    node = {"id": "flaky", "type": "Flaky", "data": {"fail_times": 1},
            "retry": {"max_attempts": 2, "initial_delay": 3600, "max_delay": 3600,
                      "jitter": False}}
    execution, _ = services.execution_start(
        workflow=workflow_from(single("long-retry", node)), input={})
    row = _wait_row(execution, "retrying")
    assert row.retry_at > timezone.now() + timedelta(minutes=59)
    # when the retry is due and the sweeper runs
    NodeExecution.objects.filter(pk=row.pk).update(retry_at=timezone.now())
    assert sweeper.sweep()["retries"] == 1
    # then the second attempt runs and completes
    assert wait_for(execution).output == {"flaky": {"attempt": 2}}


def test_a_node_lost_with_its_worker_is_run_again_by_the_sweeper():
    # given an execution whose node was running on a worker that died: the row says
    # running, its lease has expired, and no message is left
    flow = workflow_from(single("lost", {"id": "work", "type": "Flaky", "data": {}}))
    execution = Execution.objects.create(
        workflow=flow, version=flow.current_version, status="running",
        started_at=timezone.now(), deadline=timezone.now() + timedelta(hours=1))
    NodeExecution.objects.create(
        execution=execution, node_id="work", node_type="Flaky", status="running", attempt=1,
        lease_expires_at=timezone.now() - timedelta(seconds=1))
    # when the sweeper runs
    assert sweeper.sweep()["lost"] == 1
    # then the node runs again, once, and the execution completes
    execution = wait_for(execution)
    assert execution.status == "completed"
    assert execution.nodes.get(node_id="work").attempt == 2
    assert execution.logs.filter(event="node.lost").count() == 1


def test_a_node_lost_on_its_last_attempt_fails():
    flow = workflow_from(single("lost-last", {"id": "work", "type": "Flaky", "data": {},
                                              "retry": {"max_attempts": 1}}))
    execution = Execution.objects.create(
        workflow=flow, version=flow.current_version, status="running",
        started_at=timezone.now(), deadline=timezone.now() + timedelta(hours=1))
    NodeExecution.objects.create(
        execution=execution, node_id="work", node_type="Flaky", status="running", attempt=1,
        lease_expires_at=timezone.now() - timedelta(seconds=1))
    sweeper.sweep()
    execution.refresh_from_db()
    assert execution.status == "failed"
    assert "lost" in execution.nodes.get(node_id="work").error["message"]


def test_a_running_node_with_a_live_lease_is_not_taken_twice():
    # given a node that is running (a long sleep) with a valid lease
    execution, _ = services.execution_start(workflow=workflow_from(single(
        "busy", {"id": "nap", "type": "Sleep", "data": {"seconds": 1.5}})), input={})
    _wait_row(execution, "running")
    # when a duplicate message arrives and the sweeper runs
    assert services.node_run(execution_id=str(execution.pk), node_id="nap") is None
    assert sweeper.sweep()["lost"] == 0
    # then the node ran once
    execution = wait_for(execution)
    assert execution.nodes.get(node_id="nap").attempt == 1


def test_an_execution_past_its_deadline_fails_with_a_timeout():
    execution, _ = services.execution_start(workflow=workflow_from(single(
        "deadline", {"id": "ask", "type": "UserAction",
                     "data": {"assignee": "ops", "prompt": "?"}})), input={})
    wait_for(execution, statuses=("waiting",))
    Execution.objects.filter(pk=execution.pk).update(deadline=timezone.now())
    assert sweeper.sweep()["timed_out"] == 1
    execution.refresh_from_db()
    assert execution.status == "failed" and execution.error["fault"] == "timeout"
    assert Bookmark.objects.get(execution=execution).status == "closed"


def _wait_row(execution: Execution, status: str, timeout: float = 30) -> NodeExecution:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = execution.nodes.first()
        if row is not None and row.status == status:
            return row
        time.sleep(0.05)
    raise AssertionError(f"no node reached {status}")


def _sent_but_never_taken(name: str, sent_ago: timedelta) -> Execution:
    """An execution whose node was sent `sent_ago` and never taken (its message lost)."""
    flow = workflow_from(single(name, {"id": "work", "type": "Flaky", "data": {}}))
    execution = Execution.objects.create(
        workflow=flow, version=flow.current_version, status="running",
        started_at=timezone.now(), deadline=timezone.now() + timedelta(hours=1))
    NodeExecution.objects.create(execution=execution, node_id="work", node_type="Flaky",
                                 dispatched_at=timezone.now() - sent_ago)
    return execution


def test_a_node_whose_message_was_lost_is_sent_again_when_the_queue_is_empty(settings):
    # given a node sent two resend delays ago and never taken, and no backlog
    execution = _sent_but_never_taken(
        "unsent", timedelta(seconds=2 * settings.WORKFLOW_DISPATCH_RESEND_AFTER))
    assert sweeper.queue_backlog() == 0
    # when the sweeper runs, it sends it again and the execution completes
    assert sweeper.sweep()["resent"] == 1
    execution = wait_for(execution)
    assert execution.status == "completed"
    assert execution.logs.filter(event="node.resent").count() == 1


@pytest.fixture
def backlogged_queue(settings):
    """The engine's queue (a private one here) holding a message no worker has taken."""
    from kombu import Connection, Exchange, Queue

    from config.celery import app

    name = f"{settings.CELERY_TASK_DEFAULT_QUEUE}.backlog-test"
    # Declared as Celery declares the engine's queue: the resend below is sent to it.
    queue = Queue(name, Exchange(name, type="direct"), routing_key=name,
                  queue_arguments={"x-max-priority": app.conf.task_queue_max_priority})
    with Connection(app.conf.broker_url) as connection:
        bound = queue(connection.default_channel)
        bound.declare()
        connection.Producer().publish({"waiting": True}, exchange=queue.exchange,
                                      routing_key=name, declare=[queue])
        settings.CELERY_TASK_DEFAULT_QUEUE = name
        try:
            yield
        finally:
            bound.delete()


@pytest.mark.usefixtures("backlogged_queue")
def test_a_backlog_defers_a_resend_until_the_workers_have_got_past_the_node(settings):
    # given the engine's queue holds messages no worker has taken yet
    assert sweeper.queue_backlog() >= 1
    delay = settings.WORKFLOW_DISPATCH_RESEND_AFTER
    lost = _sent_but_never_taken("lost", timedelta(seconds=3 * delay))
    # when the sweeper runs and no worker has taken a node sent since, the node is most
    # likely queued behind the others: it is not sent a second time, however long ago
    assert sweeper.sweep()["resend_deferred"] == 1
    assert not lost.logs.filter(event="node.resent").exists()
    assert lost.nodes.get().status == "pending"
    # when a worker has taken a node sent well after it, and a node sent after that one
    # still waits
    taken = _sent_but_never_taken("taken", timedelta(seconds=1.5 * delay))
    taken.nodes.update(status="completed")
    queued = _sent_but_never_taken("queued", timedelta(seconds=1.2 * delay))
    report = sweeper.sweep()
    # then the node the workers got past is sent again, the one behind them is not
    assert report["resent"] == 1 and report["resend_deferred"] == 1
    assert lost.logs.filter(event="node.resent").count() == 1
    assert not queued.logs.filter(event="node.resent").exists()
    assert sweeper.queue_backlog() == 2  # the lost node's copy joined the queue
