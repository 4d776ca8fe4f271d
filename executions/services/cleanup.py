"""Retention: finished executions, old log entries and published outbox events go away.

Run daily by beat. Each kind is deleted in batches: the ids first, then a transaction per
batch that deletes by id, so no statement holds locks on a large table for long. An
execution goes with everything it owns (node runs, logs, waits, external calls, outbox
events: cascades). An execution that is not terminal is never deleted, nor one whose
parent or children are still active.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from executions.models import EXECUTION_TERMINAL, Execution, ExecutionLog, OutboxEvent

BATCH = 500
OUTBOX_RETENTION = timedelta(days=7)


def _in_batches(queryset: QuerySet, delete: Any, batch: int) -> int:
    deleted = 0
    while True:
        ids = list(queryset.order_by("pk").values_list("pk", flat=True)[:batch])
        if not ids:
            return deleted
        with transaction.atomic():
            removed = delete(ids)
        deleted += removed
        if removed == 0:  # every row of the batch changed meanwhile; the next run sees them
            return deleted


def _expired_executions(cutoff: Any) -> QuerySet:
    old = Q(finished_at__lt=cutoff) | Q(finished_at__isnull=True, created_at__lt=cutoff)
    return (
        Execution.objects.filter(old, status__in=EXECUTION_TERMINAL)
        .exclude(children__in=Execution.objects.exclude(status__in=EXECUTION_TERMINAL))
        .exclude(parent__in=Execution.objects.exclude(status__in=EXECUTION_TERMINAL))
    )


def _executions_delete(cutoff: Any) -> Any:
    def delete(ids: list[Any]) -> int:
        # Re-checked under the rows' locks: one retried meanwhile (failed -> running) stays.
        still = _expired_executions(cutoff).filter(pk__in=ids)
        if connection.features.has_select_for_update_skip_locked:
            still = still.select_for_update(skip_locked=True, of=("self",))
        keep = list(still.values_list("pk", flat=True))
        if not keep:
            return 0
        Execution.objects.filter(pk__in=keep).delete()
        return len(keep)

    return delete


def _rows_delete(model: Any) -> Any:
    def delete(ids: list[Any]) -> int:
        return model.objects.filter(pk__in=ids).delete()[0]

    return delete


def executions_cleanup(*, now: Any = None, batch: int = BATCH) -> dict[str, int]:
    """Apply the retention settings; returns how many executions, log entries and outbox
    events were deleted. A retention of 0 days keeps that kind forever."""
    now = now or timezone.now()
    deleted = {"executions": 0, "logs": 0, "outbox_events": 0}
    if settings.WORKFLOW_RETENTION_DAYS > 0:
        cutoff = now - timedelta(days=settings.WORKFLOW_RETENTION_DAYS)
        deleted["executions"] = _in_batches(
            _expired_executions(cutoff), _executions_delete(cutoff), batch)
    if settings.WORKFLOW_LOG_RETENTION_DAYS > 0:
        cutoff = now - timedelta(days=settings.WORKFLOW_LOG_RETENTION_DAYS)
        deleted["logs"] = _in_batches(
            ExecutionLog.objects.filter(created_at__lt=cutoff), _rows_delete(ExecutionLog), batch)
    deleted["outbox_events"] = _in_batches(
        OutboxEvent.objects.filter(published_at__lt=now - OUTBOX_RETENTION),
        _rows_delete(OutboxEvent), batch)
    return deleted
