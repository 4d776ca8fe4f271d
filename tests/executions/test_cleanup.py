"""Retention: old finished executions go with everything they own; active ones never do."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from executions.models import (
    Bookmark,
    Execution,
    ExecutionLog,
    NodeExecution,
    OutboxEvent,
)
from executions.services.cleanup import executions_cleanup
from tests.engine import workflow_from

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def days_ago(days: float) -> Any:
    return NOW - timedelta(days=days)


@pytest.fixture
def make(definition):
    workflow = workflow_from(definition(name="retention"))

    def execution(status: str, *, finished: float | None = None, created: float = 0,
                  parent: Execution | None = None) -> Execution:
        row = Execution.objects.create(
            workflow=workflow, version=workflow.current_version, status=status, parent=parent,
            finished_at=days_ago(finished) if finished is not None else None)
        Execution.objects.filter(pk=row.pk).update(created_at=days_ago(created))
        return row

    return execution


def log(execution: Execution, age: float) -> ExecutionLog:
    row = ExecutionLog.objects.create(execution=execution, event="node.message")
    ExecutionLog.objects.filter(pk=row.pk).update(created_at=days_ago(age))
    return row


def test_an_old_finished_execution_goes_with_everything_it_owns(make):
    # given a completed execution finished 100 days ago, with a node run, a log entry,
    # a closed wait and a published outbox event
    old = make("completed", finished=100, created=100)
    NodeExecution.objects.create(execution=old, node_id="a", node_type="Transform",
                                 status="completed")
    log(old, 100)
    Bookmark.objects.create(execution=old, node_id="a", kind="timer", status="resumed",
                            token="t-old")
    OutboxEvent.objects.create(execution=old, event="execution.completed",
                               published_at=days_ago(100))
    recent = make("failed", finished=10, created=10)
    # when retention runs (90 days), in batches of one
    deleted = executions_cleanup(now=NOW, batch=1)
    # then the old one and all its rows are gone, the recent one stays
    assert deleted["executions"] == 1
    assert list(Execution.objects.values_list("pk", flat=True)) == [recent.pk]
    for model in (NodeExecution, ExecutionLog, Bookmark, OutboxEvent):
        assert not model.objects.filter(execution_id=old.pk).exists(), model


def test_active_executions_and_families_with_an_active_member_stay(make):
    running = make("running", created=400)
    waiting = make("waiting", created=400)
    # a finished parent whose child still runs, and a finished child of a waiting parent
    parent = make("failed", finished=200, created=200)
    make("running", created=200, parent=parent)
    child_of_waiting = make("completed", finished=200, created=200, parent=waiting)
    deleted = executions_cleanup(now=NOW)
    assert deleted["executions"] == 0
    assert set(Execution.objects.values_list("pk", flat=True)) >= {
        running.pk, waiting.pk, parent.pk, child_of_waiting.pk}


def test_a_finished_family_goes_once_every_member_finished(make):
    parent = make("completed", finished=120, created=120)
    make("completed", finished=121, created=121, parent=parent)
    assert executions_cleanup(now=NOW, batch=1)["executions"] == 2
    assert not Execution.objects.exists()


def test_old_log_entries_of_kept_executions_go(make, settings):
    settings.WORKFLOW_LOG_RETENTION_DAYS = 365
    kept = make("running", created=500)
    ancient, fresh = log(kept, 400), log(kept, 30)
    assert executions_cleanup(now=NOW, batch=1)["logs"] == 1
    assert list(kept.logs.values_list("pk", flat=True)) == [fresh.pk]
    assert not ExecutionLog.objects.filter(pk=ancient.pk).exists()


def test_published_outbox_events_go_after_a_week_pending_and_dead_ones_stay(make):
    execution = make("running")
    old = OutboxEvent.objects.create(execution=execution, event="a", published_at=days_ago(8))
    new = OutboxEvent.objects.create(execution=execution, event="b", published_at=days_ago(1))
    dead = OutboxEvent.objects.create(execution=execution, event="c", dead=True)
    pending = OutboxEvent.objects.create(execution=execution, event="d")
    OutboxEvent.objects.filter(pk__in=[dead.pk, pending.pk]).update(created_at=days_ago(30))
    assert executions_cleanup(now=NOW)["outbox_events"] == 1
    assert set(OutboxEvent.objects.values_list("pk", flat=True)) == {new.pk, dead.pk,
                                                                    pending.pk}
    assert not OutboxEvent.objects.filter(pk=old.pk).exists()


def test_a_retention_of_zero_days_keeps_everything(make, settings):
    settings.WORKFLOW_RETENTION_DAYS = 0
    settings.WORKFLOW_LOG_RETENTION_DAYS = 0
    execution = make("completed", finished=1000, created=1000)
    log(execution, 1000)
    assert executions_cleanup(now=NOW) == {"executions": 0, "logs": 0, "outbox_events": 0}
    assert Execution.objects.filter(pk=execution.pk).exists()
