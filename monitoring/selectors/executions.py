"""The performance figures of the executions: totals and run times from the executions
table, series from the per-minute rollups, the most failing workflows and nodes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Max, QuerySet, Sum
from django.db.models.functions import TruncDay, TruncHour, TruncMinute

from executions.models import (
    EXECUTION_TERMINAL,
    Execution,
    ExecutionStatus,
    NodeExecution,
    NodeStatus,
)
from monitoring.models import ROLLUP_HISTOGRAM, ExecutionRollup

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



# --- Series from the rollups -------------------------------------------------------------------

BUCKETS = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}


def bucket_for(since: datetime, until: datetime) -> str:
    """The finest bucket that keeps a range within 360 points."""
    for name, size in BUCKETS.items():
        if (until - since) / size <= 360:
            return name
    return "day"


def _floor(moment: datetime, bucket: str) -> datetime:
    moment = moment.astimezone(UTC).replace(second=0, microsecond=0)
    if bucket in ("hour", "day"):
        moment = moment.replace(minute=0)
    if bucket == "day":
        moment = moment.replace(hour=0)
    return moment


def histogram_quantile(share: float, counts: list[int], longest_ms: float) -> float | None:
    """The run time below which `share` of the runs lie, estimated from the rollups'
    histogram as Prometheus' histogram_quantile does (linear within the bucket it falls in;
    the last, open bucket is closed at the longest run seen)."""
    total = sum(counts)
    if total == 0:
        return None
    rank = share * total
    seen = 0
    lower = 0.0
    for (_, upper), count in zip(ROLLUP_HISTOGRAM, counts, strict=True):
        upper_ms = longest_ms if upper == float("inf") else upper * 1000
        if count and seen + count >= rank:
            upper_ms = min(upper_ms, max(longest_ms, lower))
            return round(lower + (upper_ms - lower) * (rank - seen) / count, 1)
        seen += count
        lower = upper * 1000
    return round(longest_ms, 1)


def execution_series(*, since: datetime, until: datetime, bucket: str,
                     workflow: Any = None) -> list[dict[str, Any]]:
    """Per bucket of the range: executions that ended, by terminal status, their run time
    (average and estimated p50/p95/p99) and how many ended a minute. From the rollups, so the
    minute now running (and the one before, written a minute later) is not in it yet."""
    size = BUCKETS[bucket]
    start = _floor(since, bucket)
    rows = ExecutionRollup.objects.filter(minute__gte=start, minute__lt=until)
    if workflow is not None:
        rows = rows.filter(workflow=workflow)
    kind = {"minute": TruncMinute, "hour": TruncHour, "day": TruncDay}[bucket]
    columns = [column for column, _ in ROLLUP_HISTOGRAM]
    groups = (rows.annotate(at=kind("minute", tzinfo=UTC)).values("at", "status")
              .annotate(count=Sum("count"), measured=Sum("measured"),
                        total=Sum("duration_sum_ms"), longest=Max("duration_max_ms"),
                        **{column: Sum(column) for column in columns})
              .order_by())
    points: dict[datetime, dict[str, Any]] = {}
    moment = start
    while moment < until:
        points[moment] = {"at": moment, "by_status": dict.fromkeys(EXECUTION_TERMINAL, 0),
                          "measured": 0, "total_ms": 0.0, "longest_ms": 0.0,
                          "histogram": [0] * len(columns)}
        moment += size
    for group in groups:
        point = points.get(group["at"].astimezone(UTC))
        if point is None:
            continue
        point["by_status"][group["status"]] = group["count"]
        point["measured"] += group["measured"]
        point["total_ms"] += group["total"] or 0.0
        point["longest_ms"] = max(point["longest_ms"], group["longest"] or 0.0)
        point["histogram"] = [a + (group[c] or 0) for a, c in
                              zip(point["histogram"], columns, strict=True)]
    minutes = size.total_seconds() / 60
    series = []
    for point in points.values():
        ended = sum(point["by_status"].values())
        counts, longest = point["histogram"], point["longest_ms"]
        series.append({
            "at": point["at"], "finished": ended, "by_status": point["by_status"],
            "duration_ms": {
                "count": point["measured"],
                "avg": round(point["total_ms"] / point["measured"], 1)
                if point["measured"] else None,
                "p50": histogram_quantile(0.5, counts, longest),
                "p95": histogram_quantile(0.95, counts, longest),
                "p99": histogram_quantile(0.99, counts, longest),
            },
            "throughput_per_minute": round(ended / minutes, 3),
        })
    return series


# --- The most failing workflows and nodes ------------------------------------------------------


def failures_top(*, since: datetime, until: datetime, limit: int) -> dict[str, list[dict]]:
    """The workflows with the most failed executions, and the nodes with the most failed
    runs, among executions created in the range; each with its newest failed execution."""
    failed = Execution.objects.filter(created_at__gte=since, created_at__lt=until,
                                      status=ExecutionStatus.FAILED)
    workflows = list(failed.values("workflow_id", "workflow__namespace", "workflow__name")
                     .annotate(failures=Count("id"), last_failed_at=Max("created_at"))
                     .order_by("-failures", "workflow__namespace", "workflow__name")[:limit])
    nodes = list(NodeExecution.objects
                 .filter(execution__created_at__gte=since, execution__created_at__lt=until,
                         status=NodeStatus.FAILED)
                 .values("execution__workflow_id", "execution__workflow__namespace",
                         "execution__workflow__name", "node_id", "node_type")
                 .annotate(failures=Count("id"), last_failed_at=Max("execution__created_at"))
                 .order_by("-failures", "execution__workflow__name", "node_id")[:limit])
    for row in workflows:
        row["last_execution"] = (failed.filter(workflow_id=row["workflow_id"])
                                 .order_by("-created_at").values_list("id", flat=True).first())
    for row in nodes:
        row["last_execution"] = (
            NodeExecution.objects.filter(
                execution__workflow_id=row["execution__workflow_id"], node_id=row["node_id"],
                status=NodeStatus.FAILED, execution__created_at__gte=since,
                execution__created_at__lt=until)
            .order_by("-execution__created_at").values_list("execution_id", flat=True).first())
    return {
        "workflows": [{"workflow_id": row["workflow_id"],
                       "workflow": f"{row['workflow__namespace']}/{row['workflow__name']}",
                       "failures": row["failures"], "last_failed_at": row["last_failed_at"],
                       "last_execution": row["last_execution"]} for row in workflows],
        "nodes": [{"workflow_id": row["execution__workflow_id"],
                   "workflow": (f"{row['execution__workflow__namespace']}/"
                                f"{row['execution__workflow__name']}"),
                   "node_id": row["node_id"], "node_type": row["node_type"],
                   "failures": row["failures"], "last_failed_at": row["last_failed_at"],
                   "last_execution": row["last_execution"]} for row in nodes],
    }
