"""Schedule services and the beat tick, driven by `schedules_fire(now=...)`: validation,
DST in Europe/Berlin, catch-up after downtime, overlap, refused starts, idempotency."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest

from executions.models import Execution, ExecutionStatus
from executions.services.flow import execution_cancel
from monitoring.models import AuditLog
from workflows.cron import cron_next
from workflows.models import Schedule, ScheduleRun
from workflows.services import workflow_create, workflow_update
from workflows.triggers.schedules import (
    ScheduleConflictError,
    ScheduleInvalidError,
    schedule_create,
    schedule_delete,
    schedule_pause,
    schedule_preview,
    schedule_resume,
    schedule_update,
    schedules_fire,
)

pytestmark = pytest.mark.django_db

T0 = datetime(2027, 1, 1, tzinfo=UTC)


@pytest.fixture
def workflow(definition):
    return workflow_create(definition=definition(name="nightly"), actor=None)


def scheduled(workflow, *, at: datetime, **fields) -> Schedule:
    """A schedule whose next fire time is the cron's first after `at` (a simulated now)."""
    fields.setdefault("cron", "*/5 * * * *")
    schedule = schedule_create(workflow=workflow, actor=None, **fields)
    Schedule.objects.filter(pk=schedule.pk).update(
        next_fire_at=cron_next(schedule.cron, schedule.timezone, at - timedelta(microseconds=1)))
    schedule.refresh_from_db()
    return schedule


def started_times(schedule: Schedule) -> list[datetime]:
    return sorted(schedule.runs.filter(outcome="started").values_list("fire_at", flat=True))


def ticks(start: datetime, end: datetime, step: timedelta) -> list[datetime]:
    moments, moment = [], start
    while moment <= end:
        moments.append(moment)
        moment += step
    return moments


# --- create, validate, update, preview -------------------------------------------------------

def test_create_computes_the_next_fire_time_and_records_an_audit_entry(workflow):
    # when a daily 02:30 Berlin schedule is created
    before = datetime.now(UTC)
    schedule = schedule_create(workflow=workflow, cron="30 2 * * *", timezone="Europe/Berlin",
                               input={"n": 1}, actor=None)
    # then its next fire time is the next 02:30 in Berlin, and the creation is audited
    assert schedule.next_fire_at == cron_next("30 2 * * *", "Europe/Berlin", before)
    entry = AuditLog.objects.get(object_type="schedule", action="create")
    assert entry.after["cron"] == "30 2 * * *" and entry.after["input"] == {"n": 1}


@pytest.mark.parametrize(("fields", "field"), [
    ({"cron": "61 * * * *"}, "cron"),
    ({"cron": "every day"}, "cron"),
    ({"cron": "0 0 30 2 *"}, "cron"),
    ({"timezone": "Mars/Olympus"}, "timezone"),
    ({"timezone": "../etc/passwd"}, "timezone"),
    ({"overlap": "sometimes"}, "overlap"),
    ({"catch_up": "maybe"}, "catch_up"),
    ({"catch_up_limit": 0}, "catch_up_limit"),
    ({"retry_attempts": -1}, "retry_attempts"),
    ({"timeout": 0}, "timeout"),
    ({"input": [1, 2]}, "input"),
    ({"name": "Not A Name"}, "name"),
])
def test_invalid_fields_are_refused_naming_the_field(workflow, fields, field):
    # when a schedule with one bad field is created
    with pytest.raises(ScheduleInvalidError) as raised:
        schedule_create(workflow=workflow, actor=None, **{"cron": "0 * * * *", **fields})
    # then the error names that field, and nothing is written
    assert raised.value.status_code == 400 and raised.value.code == "schedule_invalid"
    assert list(raised.value.details["fields"]) == [field]
    assert not Schedule.objects.exists()


def test_a_second_schedule_of_the_same_name_conflicts(workflow):
    schedule_create(workflow=workflow, cron="@daily", actor=None)
    with pytest.raises(ScheduleConflictError) as raised:
        schedule_create(workflow=workflow, cron="@hourly", actor=None)
    assert raised.value.status_code == 409 and "name" in raised.value.details["fields"]


def test_update_validates_and_recomputes_only_when_the_timing_changes(workflow):
    # given a schedule
    schedule = schedule_create(workflow=workflow, cron="0 3 * * *", actor=None)
    first = schedule.next_fire_at
    # when its input changes, the next fire time stays; when its cron changes, it moves
    schedule = schedule_update(schedule=schedule, actor=None, input={"x": 1})
    assert schedule.next_fire_at == first
    schedule = schedule_update(schedule=schedule, actor=None, cron="0 4 * * *")
    assert schedule.next_fire_at.hour == 4
    # and a bad value or an unknown field is refused with its name
    with pytest.raises(ScheduleInvalidError) as raised:
        schedule_update(schedule=schedule, actor=None, timezone="Nowhere/City")
    assert list(raised.value.details["fields"]) == ["timezone"]
    with pytest.raises(ScheduleInvalidError) as raised:
        schedule_update(schedule=schedule, actor=None, colour="red")
    assert list(raised.value.details["fields"]) == ["colour"]
    assert AuditLog.objects.filter(object_type="schedule", action="update").count() == 2


def test_pause_then_resume_does_not_burst_the_missed_runs(workflow):
    # given a paused every-minute schedule whose next fire time lay in the past
    schedule = scheduled(workflow, at=T0, cron="* * * * *")
    schedule = schedule_pause(schedule=schedule, actor=None)
    assert schedule.enabled is False and schedule.next_fire_at is None
    # when it is resumed (now is real time, long after T0)
    schedule = schedule_resume(schedule=schedule, actor=None)
    # then it fires next after now, and a tick now starts nothing
    assert schedule.enabled and schedule.next_fire_at > datetime.now(UTC)
    assert schedules_fire() == 0
    assert not ScheduleRun.objects.exists()


def test_delete_removes_the_schedule_and_audits_it(workflow):
    schedule = schedule_create(workflow=workflow, cron="@daily", actor=None)
    schedule_delete(schedule=schedule, actor=None)
    assert not Schedule.objects.exists()
    assert AuditLog.objects.filter(object_type="schedule", action="delete").exists()


def test_preview_lists_local_and_utc_times_across_spring_forward():
    # when the next three daily 02:30 Berlin times after 2027-03-26 noon are previewed
    times = schedule_preview(schedule_or_fields={"cron": "30 2 * * *",
                                                 "timezone": "Europe/Berlin"},
                             count=3, after=datetime(2027, 3, 26, 12, tzinfo=UTC))
    # then the skipped 02:30 of 28 March is 03:00 CEST, each shown local and in UTC
    assert times == [
        {"local": "2027-03-27T02:30:00+01:00", "utc": "2027-03-27T01:30:00+00:00"},
        {"local": "2027-03-28T03:00:00+02:00", "utc": "2027-03-28T01:00:00+00:00"},
        {"local": "2027-03-29T02:30:00+02:00", "utc": "2027-03-29T00:30:00+00:00"},
    ]


def test_preview_refuses_a_bad_count():
    with pytest.raises(ScheduleInvalidError) as raised:
        schedule_preview(schedule_or_fields={"cron": "@daily"}, count=101)
    assert list(raised.value.details["fields"]) == ["count"]


# --- DST in Europe/Berlin --------------------------------------------------------------------

@pytest.mark.parametrize(("day_start", "expected"), [
    # spring forward, 28 March 2027: 02:30 does not exist; it fires at 03:00 CEST = 01:00 UTC
    (datetime(2027, 3, 27, 23, tzinfo=UTC), datetime(2027, 3, 28, 1, tzinfo=UTC)),
    # fall back, 31 October 2027: 02:30 happens twice; it fires at the first, 00:30 UTC
    (datetime(2027, 10, 30, 22, tzinfo=UTC), datetime(2027, 10, 31, 0, 30, tzinfo=UTC)),
])
def test_a_daily_0230_berlin_job_fires_once_on_a_dst_day(workflow, day_start, expected):
    # given a daily 02:30 Berlin schedule, looked at from the local midnight of the DST day
    schedule = scheduled(workflow, at=day_start, cron="30 2 * * *", timezone="Europe/Berlin")
    fired_by = []
    # when beat ticks every 5 minutes through that local day
    for now in ticks(day_start, day_start + timedelta(hours=24), timedelta(minutes=5)):
        if schedules_fire(now=now):
            fired_by.append(now)
    # then it started exactly one execution, at the documented instant, by the first tick
    # at or after it
    assert started_times(schedule) == [expected]
    assert fired_by == [expected]
    assert Execution.objects.filter(trigger="schedule").count() == 1


@pytest.mark.parametrize(("day_start", "hours"), [
    (datetime(2027, 3, 27, 23, tzinfo=UTC), 23),
    (datetime(2027, 10, 30, 22, tzinfo=UTC), 25),
])
@pytest.mark.parametrize("cron", ["0 * * * *", "30 * * * *"])
def test_hourly_jobs_fire_once_per_real_hour_across_dst(workflow, day_start, hours, cron):
    # given an hourly Berlin schedule that may overlap itself
    schedule = scheduled(workflow, at=day_start, cron=cron, timezone="Europe/Berlin",
                         overlap="allow")
    # when beat ticks every 10 minutes through the DST day (local midnight to midnight)
    day_end = day_start + timedelta(hours=hours)
    for now in ticks(day_start, day_end - timedelta(minutes=1), timedelta(minutes=10)):
        schedules_fire(now=now)
    # then it fired once per real hour of that day: never twice in an hour, none dropped
    times = started_times(schedule)
    assert len(times) == hours == len(set(times))
    assert all(later - earlier == timedelta(hours=1) for earlier, later in pairwise(times))


# --- catch-up after downtime -----------------------------------------------------------------

@pytest.mark.parametrize(("policy", "expected"), [
    ("none", []),
    ("latest", [T0 + timedelta(minutes=30)]),
    ("all", [T0 + timedelta(minutes=m) for m in (10, 15, 20, 25, 30)]),
])
def test_catch_up_after_beat_was_down(workflow, policy, expected):
    # given a 5-minute schedule due at T0, and beat down until T0+32min (7 times missed)
    schedule = scheduled(workflow, at=T0, catch_up=policy, catch_up_limit=5, overlap="allow")
    # when beat ticks again
    schedules_fire(now=T0 + timedelta(minutes=32))
    # then the policy decides what runs, and the next fire time is the first after now
    assert started_times(schedule) == expected
    schedule.refresh_from_db()
    assert schedule.next_fire_at == T0 + timedelta(minutes=35)
    missed = schedule.runs.get(outcome="skipped")
    assert "missed while beat was not running" in missed.reason


def test_catch_up_none_still_fires_a_time_within_the_grace(workflow):
    # given a catch_up none schedule due at T0, with a tick 30 seconds late
    schedule = scheduled(workflow, at=T0, catch_up="none")
    schedules_fire(now=T0 + timedelta(seconds=30))
    # then the due time fires
    assert started_times(schedule) == [T0]


# --- overlap -----------------------------------------------------------------------------------

def test_overlap_skip_records_a_skipped_run_while_the_previous_is_active(workflow):
    # given an every-minute skip schedule whose first run started and is still running
    schedule = scheduled(workflow, at=T0, cron="* * * * *", overlap="skip")
    schedules_fire(now=T0)
    first = schedule.runs.get().execution
    assert first.status == ExecutionStatus.RUNNING
    # when the next minute is due
    schedules_fire(now=T0 + timedelta(minutes=1))
    # then it is skipped, with the reason naming the active run
    skipped = schedule.runs.get(fire_at=T0 + timedelta(minutes=1))
    assert skipped.outcome == "skipped" and skipped.execution is None
    assert str(first.pk) in skipped.reason and "overlap: skip" in skipped.reason
    # and once the first run has finished, the next time starts again
    execution_cancel(execution=first)
    schedules_fire(now=T0 + timedelta(minutes=2))
    assert started_times(schedule) == [T0, T0 + timedelta(minutes=2)]


def test_overlap_allow_starts_while_the_previous_is_active(workflow):
    schedule = scheduled(workflow, at=T0, cron="* * * * *", overlap="allow")
    schedules_fire(now=T0)
    schedules_fire(now=T0 + timedelta(minutes=1))
    assert started_times(schedule) == [T0, T0 + timedelta(minutes=1)]
    assert Execution.objects.filter(status=ExecutionStatus.RUNNING).count() == 2


def test_overlap_queue_holds_the_fire_time_until_the_previous_finishes(workflow):
    # given an every-minute queue schedule whose first run is still running
    schedule = scheduled(workflow, at=T0, cron="* * * * *", overlap="queue")
    schedules_fire(now=T0)
    # when the next minute is due: nothing starts and the fire time is held
    schedules_fire(now=T0 + timedelta(minutes=1, seconds=10))
    schedule.refresh_from_db()
    assert started_times(schedule) == [T0]
    assert schedule.next_fire_at == T0 + timedelta(minutes=1)
    # then once the first run finished, the held time starts
    execution_cancel(execution=schedule.runs.get().execution)
    schedules_fire(now=T0 + timedelta(minutes=1, seconds=40))
    assert started_times(schedule) == [T0, T0 + timedelta(minutes=1)]


# --- refused starts, idempotency ---------------------------------------------------------------

def test_a_refused_start_records_a_failed_run_and_the_tick_goes_on(workflow, definition):
    # given two due schedules, one of an inactive workflow
    other = workflow_create(definition=definition(name="other"), actor=None)
    workflow_update(workflow=workflow, actor=None, active=False)
    refused = scheduled(workflow, at=T0)
    fine = scheduled(other, at=T0)
    # when beat ticks
    started = schedules_fire(now=T0)
    # then the inactive one records a failed run with the reason, the other starts
    run = refused.runs.get()
    assert run.outcome == "failed" and "inactive" in run.reason
    assert started == 1 and started_times(fine) == [T0]
    refused.refresh_from_db()
    assert refused.next_fire_at == T0 + timedelta(minutes=5)


def test_an_input_refused_by_the_schema_records_a_failed_run(definition):
    # given a schedule whose workflow's inputs schema changed after it was saved
    workflow = workflow_create(definition=definition(name="typed"), actor=None)
    schedule = scheduled(workflow, at=T0, input={})
    workflow_update(workflow=workflow, actor=None, definition=definition(
        name="typed", inputs={"type": "object", "required": ["id"]}))
    schedules_fire(now=T0)
    run = schedule.runs.get()
    assert run.outcome == "failed" and "id" in run.reason


def test_ticking_twice_at_the_same_instant_starts_one_execution(workflow):
    schedule = scheduled(workflow, at=T0, timeout=42, input={"who": "beat"})
    assert schedules_fire(now=T0) == 1
    assert schedules_fire(now=T0) == 0
    execution = Execution.objects.get()
    assert schedule.runs.get().execution == execution
    assert execution.trigger == "schedule" and execution.timeout == 42
    assert execution.input == {"who": "beat"}
    assert execution.idempotency_key == f"schedule:{schedule.pk}:{T0.isoformat()}:1"


@pytest.mark.django_db(transaction=True)
def test_racing_ticks_start_a_fire_time_once(workflow):
    # given a due schedule and four ticks at the same instant in parallel
    schedule = scheduled(workflow, at=T0, overlap="allow")
    barrier, results = threading.Barrier(4), []

    def tick() -> None:
        from django.db import connection

        barrier.wait()
        try:
            results.append(schedules_fire(now=T0))
        finally:
            connection.close()

    threads = [threading.Thread(target=tick) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then one execution and one run exist
    assert sorted(results) == [0, 0, 0, 1]
    assert Execution.objects.count() == 1
    assert started_times(schedule) == [T0]
