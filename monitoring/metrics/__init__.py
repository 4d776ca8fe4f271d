"""Prometheus metrics of the platform, served on the web server's `/metrics`.

- `processes`: multiprocess mode, so `/metrics` serves the counters of every process of
  the host (web, worker pool processes, beat) from one directory;
- `counters`: counters and histograms, observed where things happen, after commit;
- `collectors`: gauges of the state, computed at scrape time, served by `/metrics` only;
- `heartbeat`: the workers' heartbeats in Redis, which the workers gauge counts;
- `exposition`: the `/metrics` view.

docs/monitoring.md, "Metrics", lists every metric.
"""

from monitoring.metrics.collectors import (
    STATE_COLLECTORS,
    BreakerCollector,
    EngineStateCollector,
    PlatformCollector,
)
from monitoring.metrics.counters import (
    CACHE_REQUESTS,
    ENGINE_CLAIMS,
    ENGINE_COMPLETIONS,
    EXECUTION_DURATION,
    EXECUTIONS,
    NODE_DURATION,
    NODE_RETRIES,
    NODE_RUNS,
    OUTBOX_DEAD,
    OUTBOX_FAILED,
    OUTBOX_PUBLISHED,
    SECURITY_EVENTS,
    SWEEPER_ACTIONS,
    cache_observe,
    claim_observe,
    completion_observe,
    log_entries_observe,
    node_observe,
    outbox_observe,
    security_event_observe,
    sweeper_observe,
)
from monitoring.metrics.exposition import metrics_export, platform_registry

__all__ = [
    "CACHE_REQUESTS", "ENGINE_CLAIMS", "ENGINE_COMPLETIONS", "EXECUTIONS", "EXECUTION_DURATION",
    "NODE_DURATION", "NODE_RETRIES", "NODE_RUNS", "OUTBOX_DEAD", "OUTBOX_FAILED",
    "OUTBOX_PUBLISHED", "SECURITY_EVENTS", "STATE_COLLECTORS", "SWEEPER_ACTIONS",
    "BreakerCollector", "EngineStateCollector", "PlatformCollector", "cache_observe",
    "claim_observe", "completion_observe", "log_entries_observe", "node_observe",
    "metrics_export", "outbox_observe", "platform_registry", "security_event_observe",
    "sweeper_observe",
]
