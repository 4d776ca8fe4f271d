"""Writes of the monitoring app: audit entries and their retention, the per-minute rollups
of finished executions, and the reset of the performance counters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import redis
from django.conf import settings
from django.db import transaction
from django.db.models import Count, DurationField, ExpressionWrapper, F, Max, Q, Sum
from django.db.models.functions import TruncMinute
from django.utils import timezone

from executions.models import EXECUTION_TERMINAL, Execution
from monitoring.correlation import get_client_address, get_correlation_id
from monitoring.errors import MetricsUnavailableError
from monitoring.metrics import security_event_observe
from monitoring.models import (
    ROLLUP_HISTOGRAM,
    AuditAction,
    AuditLog,
    ExecutionRollup,
    RollupMark,
)


def audit_record(
    *,
    actor: Any,
    action: AuditAction,
    object_type: str,
    object_id: str = "",
    object_repr: str = "",
    before: dict | None = None,
    after: dict | None = None,
) -> AuditLog:
    """Record one change with the current request's correlation id and client address.

    Call it inside the transaction of the change it records, so both commit or neither.
    """
    user = actor if getattr(actor, "is_authenticated", False) else None
    return AuditLog.objects.create(
        actor=user,
        actor_repr=user.get_username() if user else "",
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        object_repr=object_repr[:200],
        before=before,
        after=after,
        correlation_id=get_correlation_id() or "",
        client_address=get_client_address(),
    )


def security_event_record(*, action: AuditAction, actor: Any = None, object_type: str = "user",
                          object_repr: str = "") -> AuditLog:
    """A failed login or a refused permission: an audit entry (with the client's address)
    and the `weft_security_events` counter, for alerting on guessing and probing."""
    entry = audit_record(actor=actor, action=action, object_type=object_type,
                         object_repr=object_repr)
    security_event_observe(str(action))
    return entry


def audit_log_cleanup(*, batch_size: int = 5000) -> int:
    """Delete audit entries older than the retention, in batches; returns how many."""
    cutoff = timezone.now() - timedelta(days=settings.AUDIT_RETENTION_DAYS)
    deleted = 0
    while True:
        with transaction.atomic():
            ids = list(
                AuditLog.objects.filter(created_at__lt=cutoff)
                .order_by("id")
                .values_list("id", flat=True)[:batch_size]
            )
            if not ids:
                return deleted
            deleted += AuditLog.objects.filter(id__in=ids).delete()[0]


# --- Rollups of finished executions ------------------------------------------------------------

ROLLUP_MARK = "executions"
ROLLUP_REWRITE = timedelta(minutes=5)  # minutes written again: runs committed late count
ROLLUP_CHUNK = timedelta(hours=1)  # most history one pass writes (a first run, a backlog)


def _minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def rollups_write(*, now: datetime | None = None) -> int:
    """Write the rollups of the minutes that ended since the last pass (and again the last
    few, for runs whose end committed late); returns how many rows were written.

    Idempotent: a minute's rows are deleted and computed again from the executions table in
    one transaction, under the mark's row lock. A first pass starts at the retention limit
    (or the oldest execution) and each pass writes at most `ROLLUP_CHUNK` of history."""
    until = _minute(now or timezone.now())
    keep_from = _minute(until - timedelta(days=settings.PERFORMANCE_ROLLUP_RETENTION_DAYS))
    with transaction.atomic():
        RollupMark.objects.get_or_create(name=ROLLUP_MARK, defaults={"until": keep_from})
        mark = RollupMark.objects.select_for_update().get(name=ROLLUP_MARK)
        since = max(min(mark.until, until - ROLLUP_REWRITE), keep_from)
        if mark.until <= keep_from:  # nothing yet: start at the oldest execution that ended
            oldest = (Execution.objects.filter(finished_at__gte=keep_from)
                      .order_by("finished_at").values_list("finished_at", flat=True).first())
            since = _minute(oldest) if oldest else until
        until = min(until, since + ROLLUP_CHUNK)
        rows = _rollup_rows(since, until) if since < until else []
        ExecutionRollup.objects.filter(minute__gte=since, minute__lt=until).delete()
        ExecutionRollup.objects.bulk_create(rows, batch_size=1000)
        mark.until = max(mark.until, until)
        mark.save(update_fields=["until"])
    return len(rows)


def _rollup_rows(since: datetime, until: datetime) -> list[ExecutionRollup]:
    """One grouped query: per minute, workflow and terminal status, the counts and the run
    times' sum, maximum and histogram."""
    duration = ExpressionWrapper(F("finished_at") - F("started_at"),
                                 output_field=DurationField())
    started = Q(started_at__isnull=False)
    histogram: dict[str, Any] = {}
    lower = 0.0
    for column, upper in ROLLUP_HISTOGRAM:
        bucket = started & Q(duration__gte=timedelta(seconds=lower))
        if upper != float("inf"):
            bucket &= Q(duration__lt=timedelta(seconds=upper))
        histogram[column] = Count("id", filter=bucket)
        lower = upper
    groups = (Execution.objects
              .filter(finished_at__gte=since, finished_at__lt=until,
                      status__in=EXECUTION_TERMINAL)
              .annotate(at=TruncMinute("finished_at", tzinfo=UTC), duration=duration)
              .values("at", "workflow_id", "status")
              .annotate(count=Count("id"), measured=Count("id", filter=started),
                        total=Sum("duration", filter=started),
                        longest=Max("duration", filter=started), **histogram)
              .order_by())
    return [
        ExecutionRollup(
            minute=group["at"], workflow_id=group["workflow_id"], status=group["status"],
            count=group["count"], measured=group["measured"],
            duration_sum_ms=_ms(group["total"]), duration_max_ms=_ms(group["longest"]),
            **{column: group[column] for column, _ in ROLLUP_HISTOGRAM})
        for group in groups
    ]


def _ms(value: timedelta | None) -> float:
    return max(value.total_seconds() * 1000, 0.0) if value is not None else 0.0


def rollups_cleanup() -> int:
    """Delete the rollups older than `PERFORMANCE_ROLLUP_RETENTION_DAYS`."""
    cutoff = timezone.now() - timedelta(days=settings.PERFORMANCE_ROLLUP_RETENTION_DAYS)
    return ExecutionRollup.objects.filter(minute__lt=cutoff).delete()[0]


# --- Reset -----------------------------------------------------------------------------------


def metrics_reset(*, actor: Any) -> dict[str, Any]:
    """Zero the counters the performance API keeps (the caches' hits and misses, summed over
    every process), audited with the counts as they were. History (executions, rollups)
    and Prometheus' counters are not touched."""
    from workflows.caching import cache_stats_reset

    at = timezone.now()
    try:
        before = cache_stats_reset(at=at.isoformat())
    except redis.RedisError as exc:
        raise MetricsUnavailableError(
            "The counters are kept in Redis, which cannot be reached; nothing was reset.",
        ) from exc
    with transaction.atomic():
        audit_record(actor=actor, action=AuditAction.RESET, object_type="metrics",
                     object_repr="performance counters", before={"caches": before},
                     after={"since": at.isoformat()})
    return {"reset_at": at, "before": {"caches": before}}
