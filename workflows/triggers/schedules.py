"""Schedules: a cron expression in an IANA zone that starts a workflow, fired by beat.

Every service validates, writes and records its audit entry in one transaction.
`schedules_fire` is the beat tick (every second, `workflows.schedules_fire`): it takes each
due schedule under a row lock (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so two ticks never
take the same schedule), works out the fire times missed since `next_fire_at` by the
schedule's catch-up policy, applies its overlap policy, starts the workflow with an
idempotency key per fire time and attempt, records a `ScheduleRun` per fire time, and
advances `next_fire_at`. Failed runs are started again (`retry_attempts`) after
`retry_delay`. See docs/schedules.md.
"""

from __future__ import annotations

import logging
from collections import deque
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSimError
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet

from config.errors import ApplicationError, ConflictError
from executions.errors import ConcurrencyLimitError
from executions.models import EXECUTION_TERMINAL, Execution, ExecutionStatus
from executions.services.start import execution_start, input_problems
from monitoring.models import AuditAction
from monitoring.services import audit_record
from workflows.cron import cron_next
from workflows.models import (
    NAME,
    CatchUpPolicy,
    OverlapPolicy,
    Schedule,
    ScheduleRun,
    Workflow,
)
from workflows.permissions import trigger_arm_check

logger = logging.getLogger(__name__)

# catch_up: none fires a due time only while it is at most this old: a tick that runs a
# little late (a busy worker, a beat restart) still fires it; a longer downtime does not.
NONE_GRACE = timedelta(seconds=60)
# Fire times walked per schedule and tick; a longer backlog is skimmed over several ticks.
WALK_LIMIT = 10_000
BATCH = 200
PREVIEW_MAX = 100
CATCH_UP_LIMIT_MAX = 1000
RETRY_ATTEMPTS_MAX = 100
RETRY_DELAY_MAX = 7 * 86400
TIMEOUT_MAX = 30 * 86400

EDITABLE = (
    "workflow", "name", "cron", "timezone", "enabled", "input", "overlap", "catch_up",
    "catch_up_limit", "retry_attempts", "retry_delay", "timeout", "source",
)
EXECUTION_NOT_FINISHED = [status for status in ExecutionStatus.values
                          if status not in EXECUTION_TERMINAL]


class ScheduleErrorCode(StrEnum):
    SCHEDULE_INVALID = "schedule_invalid"
    SCHEDULE_EXISTS = "schedule_exists"


class ScheduleInvalidError(ApplicationError):
    """A schedule field that is refused; `details.fields` names each with its messages."""

    code = ScheduleErrorCode.SCHEDULE_INVALID

    def __init__(self, problems: dict[str, list[str]]) -> None:
        field = next(iter(problems))
        super().__init__(f"Invalid schedule field '{field}': {problems[field][0]}",
                         details={"fields": problems})


class ScheduleConflictError(ConflictError):
    code = ScheduleErrorCode.SCHEDULE_EXISTS


# --- Validation -------------------------------------------------------------------------------


def _zone_problem(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return "Give an IANA time zone, e.g. Europe/Berlin."
    if len(value) > 64:
        return "At most 64 characters."
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return f"'{value}' is not a known IANA time zone (e.g. Europe/Berlin, UTC)."
    return None


def _cron_problem(value: Any, zone: str) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return "Give a cron expression: five fields (minute hour day month weekday) or a macro."
    if len(value) > 200:
        return "At most 200 characters."
    try:
        cron_next(value, zone, datetime.now(UTC))
    except (CronSimError, ValueError, StopIteration) as exc:
        return f"'{value}' is not a valid cron expression: {exc}."
    return None


def _integer_problem(value: Any, minimum: int, maximum: int | None = None) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return "Give a whole number."
    if value < minimum or (maximum is not None and value > maximum):
        return (f"Give a number from {minimum} to {maximum}." if maximum is not None
                else f"Give a number of at least {minimum}.")
    return None


def schedule_problems(fields: dict[str, Any]) -> dict[str, list[str]]:
    """Every refused field of a complete set of schedule fields, with its messages."""
    problems: dict[str, list[str]] = {}

    def add(field: str, problem: str | None) -> None:
        if problem:
            problems.setdefault(field, []).append(problem)

    if not isinstance(fields.get("workflow"), Workflow):
        add("workflow", "Give an existing workflow.")
    name = fields.get("name")
    if not isinstance(name, str) or not NAME.match(name) or len(name) > 100:
        add("name", "Use up to 100 lowercase letters, digits, '_', '.' and '-'.")
    zone_problem = _zone_problem(fields.get("timezone"))
    add("timezone", zone_problem)
    add("cron", _cron_problem(fields.get("cron"), "UTC" if zone_problem else fields["timezone"]))
    if not isinstance(fields.get("enabled"), bool):
        add("enabled", "Give true or false.")
    if not isinstance(fields.get("input"), dict):
        add("input", "Give a JSON object.")
    elif isinstance(fields.get("workflow"), Workflow):
        # Checked now, as an execution's input would be, rather than at every fire time.
        version = fields["workflow"].current_version
        schema = version.definition.get("inputs") if version is not None else None
        for path, messages in input_problems(schema, fields["input"]).items():
            for message in messages:
                add("input", message if path == "input" else f"{path}: {message}")
    if fields.get("overlap") not in OverlapPolicy.values:
        add("overlap", f"Give one of {', '.join(OverlapPolicy.values)}.")
    if fields.get("catch_up") not in CatchUpPolicy.values:
        add("catch_up", f"Give one of {', '.join(CatchUpPolicy.values)}.")
    add("catch_up_limit", _integer_problem(fields.get("catch_up_limit"), 1, CATCH_UP_LIMIT_MAX))
    add("retry_attempts", _integer_problem(fields.get("retry_attempts"), 0, RETRY_ATTEMPTS_MAX))
    add("retry_delay", _integer_problem(fields.get("retry_delay"), 0, RETRY_DELAY_MAX))
    if fields.get("timeout") is not None:
        add("timeout", _integer_problem(fields.get("timeout"), 1, TIMEOUT_MAX))
    source = fields.get("source")
    if not isinstance(source, str) or len(source) > 500:
        add("source", "Give a text of at most 500 characters.")
    return problems


def _check(fields: dict[str, Any]) -> None:
    problems = schedule_problems(fields)
    if problems:
        raise ScheduleInvalidError(problems)


def _conflict(workflow: Any, name: str) -> ScheduleConflictError:
    return ScheduleConflictError(
        f"Workflow {workflow} already has a schedule named '{name}'.",
        details={"fields": {"name": [f"'{name}' is taken for this workflow."]}},
    )


def _snapshot(schedule: Schedule) -> dict[str, Any]:
    return {
        "workflow": str(schedule.workflow),
        **{field: getattr(schedule, field) for field in EDITABLE if field != "workflow"},
        "next_fire_at": schedule.next_fire_at.isoformat() if schedule.next_fire_at else None,
    }


def _next_fire(schedule: Schedule, now: datetime) -> datetime | None:
    return cron_next(schedule.cron, schedule.timezone, now) if schedule.enabled else None


# --- Writes -----------------------------------------------------------------------------------


def schedule_create(
    *,
    workflow: Workflow,
    name: str = "default",
    cron: str,
    timezone: str = "UTC",
    enabled: bool = True,
    input: dict[str, Any] | None = None,  # noqa: A002 - the model's field
    overlap: str = OverlapPolicy.SKIP,
    catch_up: str = CatchUpPolicy.LATEST,
    catch_up_limit: int = 10,
    retry_attempts: int = 0,
    retry_delay: int = 60,
    timeout: int | None = None,
    source: str = "",
    actor: Any,
) -> Schedule:
    """Create a schedule; its first fire time is the cron's next occurrence after now."""
    fields = {
        "workflow": workflow, "name": name, "cron": cron, "timezone": timezone,
        "enabled": enabled, "input": {} if input is None else input, "overlap": overlap,
        "catch_up": catch_up, "catch_up_limit": catch_up_limit,
        "retry_attempts": retry_attempts, "retry_delay": retry_delay, "timeout": timeout,
        "source": source,
    }
    _check(fields)
    if enabled:
        trigger_arm_check(actor=actor, what="An enabled schedule")
    schedule = Schedule(**fields)
    schedule.next_fire_at = _next_fire(schedule, datetime.now(UTC))
    try:
        with transaction.atomic():
            if Schedule.objects.filter(workflow=workflow, name=name).exists():
                raise _conflict(workflow, name)
            schedule.save(force_insert=True)
            audit_record(
                actor=actor, action=AuditAction.CREATE, object_type="schedule",
                object_id=schedule.pk, object_repr=str(schedule), after=_snapshot(schedule),
            )
    except IntegrityError:
        raise _conflict(workflow, name) from None
    return schedule


def schedule_update(*, schedule: Schedule, actor: Any, **fields: Any) -> Schedule:
    """Change any of a schedule's fields. A new cron, zone or enabling recomputes the next
    fire time from now; other changes keep it."""
    unknown = sorted(set(fields) - set(EDITABLE))
    if unknown:
        raise ScheduleInvalidError({field: ["Not a schedule field."] for field in unknown})
    try:
        with transaction.atomic():
            locked = (Schedule.objects.select_for_update(of=("self",))
                      .select_related("workflow").get(pk=schedule.pk))
            before = _snapshot(locked)
            merged = {field: getattr(locked, field) for field in EDITABLE}
            merged.update(fields)
            if merged["input"] is None:
                merged["input"] = {}
            _check(merged)
            if merged["enabled"]:  # pausing stops runs, and needs no more than writing
                trigger_arm_check(actor=actor, what="Changing or resuming an enabled schedule")
            timing = ("cron", "timezone", "enabled")
            retimed = any(merged[field] != getattr(locked, field) for field in timing)
            renamed = (merged["workflow"].pk != locked.workflow_id
                       or merged["name"] != locked.name)
            if renamed and Schedule.objects.filter(
                workflow=merged["workflow"], name=merged["name"]
            ).exclude(pk=locked.pk).exists():
                raise _conflict(merged["workflow"], merged["name"])
            for field, value in merged.items():
                setattr(locked, field, value)
            if retimed:
                locked.next_fire_at = _next_fire(locked, datetime.now(UTC))
            after = _snapshot(locked)
            if after != before:
                locked.save()
                audit_record(
                    actor=actor, action=AuditAction.UPDATE, object_type="schedule",
                    object_id=locked.pk, object_repr=str(locked), before=before, after=after,
                )
    except IntegrityError:
        raise _conflict(fields.get("workflow", schedule.workflow),
                        fields.get("name", schedule.name)) from None
    return locked


def schedule_delete(*, schedule: Schedule, actor: Any) -> None:
    """Delete a schedule with its runs (the executions it started stay)."""
    with transaction.atomic():
        audit_record(
            actor=actor, action=AuditAction.DELETE, object_type="schedule",
            object_id=schedule.pk, object_repr=str(schedule), before=_snapshot(schedule),
        )
        schedule.delete()


def schedule_pause(*, schedule: Schedule, actor: Any) -> Schedule:
    """Stop firing; a paused schedule has no next fire time."""
    return schedule_update(schedule=schedule, actor=actor, enabled=False)


def schedule_resume(*, schedule: Schedule, actor: Any) -> Schedule:
    """Fire again from the next occurrence after now: times missed while paused never run."""
    return schedule_update(schedule=schedule, actor=actor, enabled=True)


def schedule_preview(*, schedule_or_fields: Schedule | dict[str, Any], count: int = 10,
                     after: datetime | None = None) -> list[dict[str, str]]:
    """The next `count` fire times after `after` (default now): each as ISO 8601 with the
    offset in the schedule's zone (`local`) and in UTC (`utc`)."""
    if isinstance(schedule_or_fields, Schedule):
        cron, zone = schedule_or_fields.cron, schedule_or_fields.timezone
    else:
        cron = schedule_or_fields.get("cron")
        zone = schedule_or_fields.get("timezone") or "UTC"
    problems: dict[str, list[str]] = {}
    zone_problem = _zone_problem(zone)
    for field, problem in (
        ("count", _integer_problem(count, 1, PREVIEW_MAX)),
        ("timezone", zone_problem),
        ("cron", _cron_problem(cron, "UTC" if zone_problem else zone)),
    ):
        if problem:
            problems[field] = [problem]
    if problems:
        raise ScheduleInvalidError(problems)
    moment, times = after or datetime.now(UTC), []
    for _ in range(count):
        moment = cron_next(cron, zone, moment)
        times.append({"local": moment.astimezone(ZoneInfo(zone)).isoformat(),
                      "utc": moment.isoformat()})
    return times


# --- The beat tick ----------------------------------------------------------------------------


def _locked(query: QuerySet) -> QuerySet:
    """Rows another tick holds are skipped, not waited for (SQLite has one writer anyway)."""
    if connection.features.has_select_for_update_skip_locked:
        return query.select_for_update(skip_locked=True, of=("self",))
    return query.select_for_update()


def _due_times(schedule: Schedule, now: datetime) -> tuple[list[datetime], int, datetime, bool]:
    """The fire times from next_fire_at up to now: the last ones (as many as the policy can
    fire), how many there were, the first time after now, and whether the walk got there
    (False: WALK_LIMIT stopped it, the next tick goes on)."""
    keep = schedule.catch_up_limit if schedule.catch_up == CatchUpPolicy.ALL else 1
    due: deque[datetime] = deque(maxlen=keep + 1)  # one more: the latest one left out
    moment, count = schedule.next_fire_at, 0
    for _ in range(WALK_LIMIT):
        if moment > now:
            return list(due), count, moment, True
        due.append(moment)
        count += 1
        moment = cron_next(schedule.cron, schedule.timezone, moment)
    return list(due), count, moment, False


def _chosen(schedule: Schedule, due: list[datetime], now: datetime) -> list[datetime]:
    """The due times the catch-up policy fires."""
    if schedule.catch_up == CatchUpPolicy.NONE:
        return due[-1:] if due and now - due[-1] <= NONE_GRACE else []
    if schedule.catch_up == CatchUpPolicy.LATEST:
        return due[-1:]
    return due[-schedule.catch_up_limit:]


def _record(schedule: Schedule, fire_at: datetime, attempt: int, outcome: str, *,
            execution: Execution | None = None, reason: str = "") -> ScheduleRun:
    run, _ = ScheduleRun.objects.get_or_create(
        schedule=schedule, fire_at=fire_at, attempt=attempt,
        defaults={"outcome": outcome, "execution": execution, "reason": reason[:500]},
    )
    return run


def _active_run(schedule: Schedule) -> ScheduleRun | None:
    """A run of this schedule whose execution has not finished yet."""
    return (ScheduleRun.objects.filter(schedule=schedule, outcome=ScheduleRun.Outcome.STARTED,
                                       execution__status__in=EXECUTION_NOT_FINISHED)
            .order_by("-fire_at", "-attempt").first())


def _start(schedule: Schedule, fire_at: datetime, attempt: int) -> int:
    """Start one fire time's attempt and record it; 1 if an execution was created."""
    if ScheduleRun.objects.filter(schedule=schedule, fire_at=fire_at, attempt=attempt).exists():
        return 0
    try:
        execution, created = execution_start(
            workflow=schedule.workflow, input=schedule.input, trigger="schedule",
            idempotency_key=f"schedule:{schedule.pk}:{fire_at.isoformat()}:{attempt}",
            timeout=schedule.timeout,
        )
    except ConcurrencyLimitError as exc:
        _record(schedule, fire_at, attempt, ScheduleRun.Outcome.SKIPPED, reason=exc.message)
        return 0
    except ApplicationError as exc:  # inactive workflow, input refused by its schema, ...
        logger.warning("schedule %s could not start %s: %s", schedule, schedule.workflow,
                       exc.message)
        _record(schedule, fire_at, attempt, ScheduleRun.Outcome.FAILED, reason=exc.message)
        return 0
    _record(schedule, fire_at, attempt, ScheduleRun.Outcome.STARTED, execution=execution)
    logger.info("schedule %s started execution %s for %s (attempt %d)", schedule,
                execution.pk, fire_at.isoformat(), attempt)
    return int(created)


def _schedule_fire(schedule_id: Any, now: datetime) -> int:
    """Fire one due schedule, under its row lock; returns how many executions it started."""
    with transaction.atomic():
        schedule = _locked(
            Schedule.objects.filter(pk=schedule_id, enabled=True, next_fire_at__lte=now)
            .select_related("workflow")
        ).first()
        if schedule is None:
            return 0  # another tick took it, or it was changed meanwhile
        due, count, following, complete = _due_times(schedule, now)
        chosen = _chosen(schedule, due, now) if complete else []
        missed = [moment for moment in due if moment not in chosen]
        if complete and missed:
            _record(schedule, missed[-1], 1, ScheduleRun.Outcome.SKIPPED,
                    reason=f"{count - len(chosen)} fire time(s) up to this one were missed "
                           f"while beat was not running; not run (catch_up: "
                           f"{schedule.catch_up}).")
        started, last_fired = 0, schedule.last_fire_at
        for fire_at in chosen:
            previous = _active_run(schedule)
            if previous is not None and schedule.overlap == OverlapPolicy.QUEUE:
                following = fire_at  # held until the previous run finishes
                break
            if previous is not None and schedule.overlap == OverlapPolicy.SKIP:
                _record(schedule, fire_at, 1, ScheduleRun.Outcome.SKIPPED,
                        reason=f"The previous run (execution {previous.execution_id}) is "
                               "still active (overlap: skip).")
            else:
                started += _start(schedule, fire_at, 1)
            last_fired = fire_at
        Schedule.objects.filter(pk=schedule.pk).update(next_fire_at=following,
                                                       last_fire_at=last_fired)
        return started


def _retry_candidates() -> QuerySet[ScheduleRun]:
    """Latest runs of enabled schedules whose execution failed, with attempts left."""
    newer = ScheduleRun.objects.filter(schedule=OuterRef("schedule")).filter(
        Q(fire_at__gt=OuterRef("fire_at"))
        | Q(fire_at=OuterRef("fire_at"), attempt__gt=OuterRef("attempt"))
    )
    return (ScheduleRun.objects
            .filter(outcome=ScheduleRun.Outcome.STARTED,
                    execution__status=ExecutionStatus.FAILED,
                    schedule__enabled=True, attempt__lte=F("schedule__retry_attempts"))
            .filter(~Exists(newer))
            .select_related("schedule", "execution").order_by("fire_at"))


def _retry(run: ScheduleRun, now: datetime) -> int:
    failed_at = run.execution.finished_at or run.created_at
    if failed_at + timedelta(seconds=run.schedule.retry_delay) > now:
        return 0
    with transaction.atomic():
        schedule = _locked(
            Schedule.objects.filter(pk=run.schedule_id, enabled=True).select_related("workflow")
        ).first()
        if schedule is None:
            return 0
        if schedule.overlap != OverlapPolicy.ALLOW and _active_run(schedule) is not None:
            return 0  # try again once the active run is done
        return _start(schedule, run.fire_at, run.attempt + 1)


def schedules_fire(*, now: datetime | None = None, batch: int = BATCH) -> int:
    """The beat tick: fire every due schedule and retry failed runs whose delay is over.

    A schedule that cannot fire (a refused start is recorded as a failed run; anything
    else is logged) never stops the others. Returns how many executions were started.
    """
    now = now or datetime.now(UTC)
    started = 0
    due = list(Schedule.objects.filter(enabled=True, next_fire_at__lte=now)
               .order_by("next_fire_at").values_list("pk", flat=True)[:batch])
    for schedule_id in due:
        try:
            started += _schedule_fire(schedule_id, now)
        except Exception:
            logger.exception("schedule %s could not fire", schedule_id)
    for run in _retry_candidates()[:batch]:
        try:
            started += _retry(run, now)
        except Exception:
            logger.exception("run %s of schedule %s could not be retried", run.pk,
                             run.schedule_id)
    return started
