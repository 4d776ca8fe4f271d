"""Reads of the monitoring app: readiness of each backing service and the audit log
(`health`), the performance figures of the executions (`executions`), and the caches,
locks and workers (`platform`)."""

from monitoring.selectors.executions import (
    BUCKETS,
    bucket_for,
    duration_figures,
    durations_ms,
    execution_metrics,
    execution_series,
    executions_count,
    executions_recent,
    failures_top,
    histogram_quantile,
    percentile,
)
from monitoring.selectors.health import CHECKS, Check, audit_log_list, readiness
from monitoring.selectors.platform import (
    CACHES,
    cache_figures,
    caches_read,
    locks_active,
    workers_read,
)

__all__ = [
    "BUCKETS", "CACHES", "CHECKS", "Check", "audit_log_list", "bucket_for", "cache_figures",
    "caches_read", "duration_figures", "durations_ms", "execution_metrics",
    "execution_series", "executions_count", "executions_recent", "failures_top",
    "histogram_quantile", "locks_active", "percentile", "readiness", "workers_read",
]
