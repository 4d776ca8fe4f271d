"""Schedules on real processes: a failed run retried on a real worker, and two real
`celery beat` processes of which only the leader sends, the other taking over when it dies."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
from django.conf import settings

from config.beat import LOCK_NAME
from executions.models import Execution
from tests import workers
from tests.engine import wait_for
from workflows.models import Schedule, ScheduleRun
from workflows.services import workflow_create
from workflows.triggers.schedules import schedule_create, schedules_fire

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

LOCK_TTL = 3  # seconds: the standby takes over this long after the leader dies
LEADER = "is the leader now"


def eventually(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s: {what}")
        time.sleep(0.1)


def due_now(workflow, **fields) -> Schedule:
    """A schedule due at once (its yearly cron would not fire again during the test)."""
    schedule = schedule_create(workflow=workflow, cron="0 0 1 1 *", actor=None, **fields)
    Schedule.objects.filter(pk=schedule.pk).update(
        next_fire_at=datetime.now(UTC) - timedelta(seconds=1))
    return schedule


def test_a_failed_run_is_retried_after_the_delay_with_the_next_attempt(worker, definition):
    # given a schedule with one retry, of a workflow that fails on its input
    workflow = workflow_create(definition=definition(name="fails", nodes=[
        {"id": "check", "type": "Validator",
         "data": {"value": "{{ input }}", "schema": {"type": "object", "required": ["id"]}}},
    ], edges=[]), actor=None)
    schedule = due_now(workflow, retry_attempts=1, retry_delay=30)
    # when it fires, and its execution fails on the worker
    assert schedules_fire() == 1
    first = wait_for(schedule.runs.get(attempt=1).execution)
    assert first.status == "failed"
    # then no retry before the delay, the second attempt after it, and no third
    assert schedules_fire(now=first.finished_at + timedelta(seconds=10)) == 0
    assert schedules_fire(now=first.finished_at + timedelta(seconds=31)) == 1
    retry = schedule.runs.get(attempt=2)
    assert retry.fire_at == schedule.runs.get(attempt=1).fire_at
    assert retry.execution.idempotency_key.endswith(":2")
    second = wait_for(retry.execution)
    assert second.status == "failed"
    assert schedules_fire(now=second.finished_at + timedelta(seconds=60)) == 0
    assert sorted(schedule.runs.values_list("attempt", flat=True)) == [1, 2]


@contextmanager
def beats(tmp_path: Path, count: int) -> Iterator[list[tuple[subprocess.Popen, Path]]]:
    """`count` real beat processes, each with its own schedule file and log (at DEBUG, where
    beat says which housekeeping ticks it sends)."""
    with ExitStack() as stack:
        yield [stack.enter_context(workers.celery_beat(
                   tmp_path / f"beat{index}", LOG_FORMAT="text", LOG_LEVEL="DEBUG",
                   BEAT_LEADER_LOCK_TTL=str(LOCK_TTL)))
               for index in range(count)]


def text(log: Path) -> str:
    return log.read_text(errors="replace")


def test_two_beats_send_once_and_the_standby_takes_over(worker, definition, tmp_path):
    # given no leader yet, and a schedule that is due
    redis.Redis.from_url(settings.REDIS_URL).delete(LOCK_NAME)
    workflow = workflow_create(definition=definition(name="beat-led"), actor=None)
    first = due_now(workflow, name="first")
    with beats(tmp_path, 2) as running:
        # when two beats run
        eventually(lambda: any(LEADER in text(log) for _, log in running), 60,
                   "a beat leads")
        eventually(lambda: first.runs.exists(), 30, "the due schedule fires")
        time.sleep(2)  # the standby tries to lead every second
        # then exactly one leads and sends, and the schedule started exactly once
        leaders = [(process, log) for process, log in running if LEADER in text(log)]
        assert len(leaders) == 1
        (leader, leader_log), = leaders
        (standby, standby_log), = [(p, log) for p, log in running if p is not leader]
        assert "Sending due task housekeeping" in text(leader_log)
        assert "Sending due task" not in text(standby_log)
        assert "config.beat.LeaderScheduler" in text(standby_log)  # the default scheduler
        assert ScheduleRun.objects.filter(schedule=first).count() == 1
        assert Execution.objects.filter(workflow=workflow).count() == 1
        # when the leader dies without releasing the lock
        leader.send_signal(signal.SIGKILL)
        leader.wait()
        # then the standby takes over within the lock's expiry and fires what is due, once
        eventually(lambda: LEADER in text(standby_log), LOCK_TTL + 3, "the standby leads")
        second = due_now(workflow, name="second")
        eventually(lambda: second.runs.exists(), 30, "the new leader fires")
        time.sleep(1)
        assert ScheduleRun.objects.filter(schedule=second).count() == 1
        assert Execution.objects.filter(workflow=workflow).count() == 2
        # and a leader that stops cleanly releases the lock
        standby.terminate()
        standby.wait(timeout=10)
        assert "released the leader lock" in text(standby_log)
        assert not redis.Redis.from_url(settings.REDIS_URL).exists(LOCK_NAME)
