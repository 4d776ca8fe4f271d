"""Prometheus metrics of the engine, served on `/metrics` with django-prometheus's.

Counters and histograms are observed where things happen (after the commit of the change,
so a rolled-back change counts nothing): execution statuses from `logs_write`, node
attempts where a node completes or fails, outbox publishes in the dispatcher. Gauges of
the state (active executions, outbox backlog, open waits, circuit breakers) are computed
when Prometheus scrapes, by collectors with one cheap query each.

Node runs happen in Celery worker processes, so their counters live there: a worker
serves them on WORKFLOW_WORKER_METRICS_PORT (+ the pool process index) when it is set.
The collectors run in the web process only (the state is the same wherever it is read).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from celery.signals import worker_process_init
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from prometheus_client import REGISTRY, Counter, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)

EXECUTIONS = Counter(
    "weft_executions", "Executions that reached a status, by workflow.", ["workflow", "status"]
)
EXECUTION_DURATION = Histogram(
    "weft_execution_duration_seconds", "Time from start to a terminal status.",
    ["workflow", "status"],
    buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 1800, 3600, 21600, 86400),
)
NODE_DURATION = Histogram(
    "weft_node_duration_seconds", "Time one node attempt ran, by node type and outcome.",
    ["node_type", "status"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
NODE_RETRIES = Counter("weft_node_retries", "Node attempts that failed and will be retried.",
                       ["node_type"])
OUTBOX_PUBLISHED = Counter("weft_outbox_published", "Outbox events published.")
OUTBOX_FAILED = Counter("weft_outbox_failed", "Failed attempts to publish an outbox event.")
OUTBOX_DEAD = Counter("weft_outbox_dead", "Outbox events given up after their last attempt.")
CACHE_REQUESTS = Counter(
    "weft_cache_requests", "Cache lookups by cache (plan, node_types), layer (process, redis) "
    "and result (hit, miss).", ["cache", "layer", "result"])

SECURITY_EVENTS = Counter(
    "weft_security_events", "Failed logins (API and admin), throttled logins and refused "
    "permissions.", ["event"])

BREAKER_STATES = {"closed": 0, "half-open": 1, "open": 2}
BREAKER_KEYS = "weft:breaker:*:pybreaker:state"
BREAKER_PEERS_MAX = 1000

TERMINAL_EVENTS = ("execution.completed", "execution.failed", "execution.cancelled")


@functools.lru_cache(maxsize=4096)
def _workflow_label(workflow_id: Any) -> str:
    from workflows.models import Workflow

    workflow = Workflow.objects.filter(pk=workflow_id).only("namespace", "name").first()
    return f"{workflow.namespace}/{workflow.name}" if workflow else str(workflow_id)


def _workflow_of(execution: Any) -> str:
    if type(execution).workflow.is_cached(execution):
        return f"{execution.workflow.namespace}/{execution.workflow.name}"
    return _workflow_label(execution.workflow_id)


def log_entries_observe(entries: Iterable[Any]) -> None:
    """Count the execution statuses the committed log entries record, with durations."""
    from executions.models import ExecutionStatus

    for entry in entries:
        kind, _, status = entry.event.partition(".")
        if kind != "execution" or status not in ExecutionStatus.values:
            continue
        execution = entry.execution
        workflow = _workflow_of(execution)
        EXECUTIONS.labels(workflow, status).inc()
        if entry.event in TERMINAL_EVENTS and execution.started_at and execution.finished_at:
            EXECUTION_DURATION.labels(workflow, status).observe(
                max(0.0, (execution.finished_at - execution.started_at).total_seconds()))


def node_observe(row: Any, status: str) -> None:
    """One node attempt ended (completed, failed, or retrying): its duration, after commit."""
    started: datetime | None = row.started_at
    ended = timezone.now()

    def observe() -> None:
        if status == "retrying":
            NODE_RETRIES.labels(row.node_type).inc()
        if started is not None:
            NODE_DURATION.labels(row.node_type, status).observe(
                max(0.0, (ended - started).total_seconds()))

    transaction.on_commit(observe)


def outbox_observe(*, published: int = 0, failed: int = 0, dead: int = 0) -> None:
    OUTBOX_PUBLISHED.inc(published)
    OUTBOX_FAILED.inc(failed)
    OUTBOX_DEAD.inc(dead)


def security_event_observe(event: str) -> None:
    """A failed login, a throttled login or a refused permission (monitoring.services)."""
    SECURITY_EVENTS.labels(event).inc()


def cache_observe(cache: str, layer: str, result: str) -> None:
    """One cache lookup (workflows/caching.py, which also sums them across processes)."""
    CACHE_REQUESTS.labels(cache, layer, result).inc()


class EngineStateCollector(Collector):
    """Gauges read from the database at scrape time: one grouped COUNT each."""

    def describe(self) -> list[Metric]:
        return []  # not collected at registration (no database query at import)

    def collect(self) -> Iterator[Metric]:
        from django.db.models import Count

        from executions.models import (
            EXECUTION_TERMINAL,
            Bookmark,
            BookmarkStatus,
            Execution,
            ExecutionStatus,
            OutboxEvent,
        )

        try:
            active = dict(Execution.objects.exclude(status__in=EXECUTION_TERMINAL)
                          .values_list("status").annotate(n=Count("id")).order_by())
            waits = dict(Bookmark.objects.filter(status=BookmarkStatus.OPEN)
                         .values_list("kind").annotate(n=Count("id")).order_by())
            outbox = dict(OutboxEvent.objects.filter(published_at__isnull=True)
                          .values_list("dead").annotate(n=Count("id")).order_by())
        except Exception:  # noqa: BLE001 - a scrape without these beats a failed scrape
            logger.exception("the engine's state metrics could not be read")
            return
        gauge = GaugeMetricFamily("weft_executions_active",
                                  "Executions not yet terminal, by status.", labels=["status"])
        for status in ExecutionStatus.values:
            if status not in EXECUTION_TERMINAL:
                gauge.add_metric([status], active.get(status, 0))
        yield gauge
        gauge = GaugeMetricFamily("weft_bookmarks_open", "Open waits, by kind.", labels=["kind"])
        for kind, count in sorted(waits.items()):
            gauge.add_metric([kind], count)
        yield gauge
        gauge = GaugeMetricFamily("weft_outbox_backlog",
                                  "Outbox events not published: pending or dead.",
                                  labels=["state"])
        gauge.add_metric(["pending"], outbox.get(False, 0))
        gauge.add_metric(["dead"], outbox.get(True, 0))
        yield gauge


class BreakerCollector(Collector):
    """The state of every circuit breaker, read from Redis where the workers share it."""

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        from workflows.nodes.breaker import _client

        gauge = GaugeMetricFamily("weft_circuit_breaker_state",
                                  "Circuit breaker per peer: 0 closed, 1 half-open, 2 open.",
                                  labels=["peer"])
        prefix, suffix = BREAKER_KEYS.split("*")
        try:
            client = _client()
            keys = []
            for key in client.scan_iter(match=BREAKER_KEYS, count=500):
                keys.append(key.decode())
                if len(keys) >= BREAKER_PEERS_MAX:
                    break
            values = client.mget(keys) if keys else []
        except Exception:  # noqa: BLE001 - Redis down: no breaker figures in this scrape
            logger.exception("the circuit breakers' state could not be read")
            return
        for key, value in zip(keys, values, strict=True):
            state = (value or b"closed").decode()
            gauge.add_metric([key[len(prefix):-len(suffix)]], BREAKER_STATES.get(state, 0))
        yield gauge


STATE_COLLECTORS = (EngineStateCollector(), BreakerCollector())
for _collector in STATE_COLLECTORS:
    REGISTRY.register(_collector)


@worker_process_init.connect
def _worker_metrics_serve(**kwargs: Any) -> None:
    """A worker process serves its own counters when WORKFLOW_WORKER_METRICS_PORT is set
    (port + the pool process index, so each process of a prefork pool has one)."""
    for collector in STATE_COLLECTORS:  # the web process serves the shared state
        REGISTRY.unregister(collector)
    port = settings.WORKFLOW_WORKER_METRICS_PORT
    if not port:
        return
    from billiard.process import current_process

    index = getattr(current_process(), "index", 0) or 0
    start_http_server(port + index)
