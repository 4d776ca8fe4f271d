"""Reads of the monitoring app: readiness of each backing service, the audit log, and the
performance figures of the executions."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from asgiref.sync import async_to_sync
from channels import DEFAULT_CHANNEL_LAYER
from channels.layers import channel_layers
from django.conf import settings
from django.db import connection
from django.db.models import Count, QuerySet

from executions.models import Execution, ExecutionStatus
from monitoring.models import AuditLog


@dataclass(frozen=True)
class Check:
    """The outcome of probing one backing service."""

    name: str
    ok: bool
    latency_ms: float
    error: str = ""

    def as_dict(self) -> dict:
        result: dict = {"ok": self.ok, "latency_ms": round(self.latency_ms, 1)}
        if self.error:
            result["error"] = self.error
        return result


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _broker() -> None:
    from config.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=settings.READINESS_TIMEOUT)


def _result_backend() -> None:
    from config.celery import app

    backend = app.backend
    client = getattr(backend, "client", None)
    if client is not None and hasattr(client, "ping"):
        client.ping()
    else:
        backend.get_task_meta(f"readiness-{uuid.uuid4().hex}")


def _channel_layer() -> None:
    # A layer instance of its own: the process's shared one is busy receiving for every
    # open websocket, and channels_redis refuses a receive from a second event loop.
    if DEFAULT_CHANNEL_LAYER not in channel_layers.configs:
        raise RuntimeError("no channel layer configured")

    async def round_trip() -> None:
        layer = channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)
        try:
            channel = await layer.new_channel("readiness.")
            await layer.send(channel, {"type": "readiness.probe"})
            message = await asyncio.wait_for(layer.receive(channel), settings.READINESS_TIMEOUT)
            if message.get("type") != "readiness.probe":
                raise RuntimeError("channel layer returned an unexpected message")
        finally:
            close = getattr(layer, "close_pools", None)
            if close is not None:
                await close()

    async_to_sync(round_trip)()


CHECKS: dict[str, Callable[[], None]] = {
    "database": _database,
    "broker": _broker,
    "result_backend": _result_backend,
    "channel_layer": _channel_layer,
}


def _probe(name: str, check: Callable[[], None]) -> Check:
    started = time.perf_counter()
    try:
        check()
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready", reported by name
        elapsed = (time.perf_counter() - started) * 1000
        return Check(name, False, elapsed, f"{type(exc).__name__}: {exc}")
    return Check(name, True, (time.perf_counter() - started) * 1000)


def readiness() -> list[Check]:
    """Probe every backing service in parallel, each bounded by READINESS_TIMEOUT."""
    timeout = settings.READINESS_TIMEOUT + 1
    results: list[Check] = []
    database = _probe("database", _database)  # the connection belongs to this thread
    results.append(database)
    others = {name: check for name, check in CHECKS.items() if name != "database"}
    pool = ThreadPoolExecutor(max_workers=len(others))
    try:
        futures = {name: pool.submit(_probe, name, check) for name, check in others.items()}
        for name, future in futures.items():
            try:
                results.append(future.result(timeout=timeout))
            except FutureTimeout:
                results.append(Check(name, False, timeout * 1000, "timed out"))
    finally:
        pool.shutdown(wait=False, cancel_futures=True)  # a hung probe must not hold the answer
    return results


def audit_log_list() -> QuerySet[AuditLog]:
    return AuditLog.objects.select_related("actor").all()


# --- Performance figures of the executions ---------------------------------------------------


def percentile(sorted_values: list[float], share: float) -> float | None:
    """The value below which `share` of the values lie (linear between the two nearest, as
    PostgreSQL's percentile_cont); None for no values."""
    if not sorted_values:
        return None
    position = (len(sorted_values) - 1) * share
    lower = int(position)
    upper = min(lower + 1, len(sorted_values) - 1)
    return sorted_values[lower] + (sorted_values[upper] - sorted_values[lower]) * (position - lower)


def durations_ms(executions: QuerySet) -> list[float]:
    """The run times (started -> finished) of the newest `PERFORMANCE_SAMPLE_MAX` finished
    executions among `executions`, in milliseconds, sorted."""
    rows = (executions.filter(started_at__isnull=False, finished_at__isnull=False)
            .order_by("-finished_at").values_list("started_at", "finished_at")
            [:settings.PERFORMANCE_SAMPLE_MAX])
    return sorted(max((finished - started).total_seconds() * 1000, 0.0)
                  for started, finished in rows)


def duration_figures(values: list[float]) -> dict[str, float | int | None]:
    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, 1)

    return {"count": len(values),
            "avg": rounded(sum(values) / len(values)) if values else None,
            "p50": rounded(percentile(values, 0.5)), "p95": rounded(percentile(values, 0.95)),
            "p99": rounded(percentile(values, 0.99))}


def execution_metrics(*, since: datetime, until: datetime, workflow: Any = None
                      ) -> dict[str, Any]:
    """Executions created in [since, until): how many, by status, how many finished and how
    (success and failure rates over the finished), their run times, and the finished per
    minute."""
    executions = Execution.objects.filter(created_at__gte=since, created_at__lt=until)
    if workflow is not None:
        executions = executions.filter(workflow=workflow)
    by_status = dict(executions.order_by().values_list("status").annotate(count=Count("id")))
    total = sum(by_status.values())
    completed = by_status.get(ExecutionStatus.COMPLETED, 0)
    failed = by_status.get(ExecutionStatus.FAILED, 0)
    cancelled = by_status.get(ExecutionStatus.CANCELLED, 0)
    finished = completed + failed + cancelled
    minutes = max((until - since).total_seconds() / 60, 1 / 60)
    return {
        "from": since, "to": until, "total": total,
        "by_status": {status: by_status.get(status, 0) for status in ExecutionStatus.values},
        "finished": finished,
        "success_rate": round(completed / finished, 4) if finished else None,
        "failure_rate": round(failed / finished, 4) if finished else None,
        "duration_ms": duration_figures(durations_ms(executions)),
        "throughput_per_minute": round(finished / minutes, 3),
    }


def executions_recent(*, count: int) -> QuerySet:
    return (Execution.objects.select_related("workflow")
            .only("id", "status", "created_at", "started_at", "finished_at", "workflow__id",
                  "workflow__namespace", "workflow__name")
            .order_by("-created_at")[:count])


def executions_count(*, workflow: Any, since: datetime, until: datetime) -> dict[str, int]:
    return dict(Execution.objects.filter(workflow=workflow, created_at__gte=since,
                                         created_at__lt=until)
                .order_by().values_list("status").annotate(count=Count("id")))
