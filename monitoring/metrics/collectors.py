"""Gauges of the platform's state, computed when Prometheus scrapes `/metrics`: from the
database (executions, waits, timers, the outbox, connections), Redis (circuit breakers,
locks, worker heartbeats) and the broker (queues).

They describe state every process would read the same, so only the web server's
`/metrics` serves them (`exposition`): they are never registered in prometheus_client's
global registry, which other processes (Flower, a worker host's port) serve. Each family is
one cheap read, and fails soft: a read that fails is logged once (until it succeeds
again) and its families are left out of that scrape."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

from django.conf import settings
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from monitoring.metrics.heartbeat import workers_alive

logger = logging.getLogger(__name__)

BREAKER_STATES = {"closed": 0, "half-open": 1, "open": 2}
BREAKER_KEYS = "weft:breaker:*:pybreaker:state"
BREAKER_PEERS_MAX = 1000
LOCK_KINDS = ("beat_leader", "admission", "sync")

Read = Callable[[], list[Metric]]


class SoftCollector(Collector):
    """A collector of several reads, each giving some metric families; a read that raises
    is logged once (again only after it has succeeded) and gives nothing."""

    def __init__(self) -> None:
        self._failing: set[str] = set()

    def describe(self) -> list[Metric]:
        return []  # nothing is read at registration

    def reads(self) -> list[tuple[str, Read]]:
        raise NotImplementedError

    def collect(self) -> Iterator[Metric]:
        for name, read in self.reads():
            try:
                families = read()
            except Exception:  # noqa: BLE001 - a scrape without these beats a failed scrape
                if name not in self._failing:
                    logger.exception("metrics: %s could not be read", name)
                    self._failing.add(name)
                continue
            self._failing.discard(name)
            yield from families


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def _age(now: Any, then: Any) -> float:
    return max(0.0, (now - then).total_seconds()) if then is not None else 0.0


class EngineStateCollector(SoftCollector):
    """The engine's state in the database: one query per read."""

    def reads(self) -> list[tuple[str, Read]]:
        return [("active executions", self.executions_active),
                ("open waits", self.bookmarks_open),
                ("the outbox", self.outbox),
                ("overdue timers", self.timers_overdue),
                ("stalled executions", self.executions_stalled),
                ("database connections", self.database_connections)]

    def executions_active(self) -> list[Metric]:
        from django.db.models import Count, Min
        from django.utils import timezone

        from executions.models import EXECUTION_TERMINAL, Execution, ExecutionStatus

        rows = {status: (count, oldest) for status, count, oldest in
                Execution.objects.exclude(status__in=EXECUTION_TERMINAL).values_list("status")
                .annotate(n=Count("id"), oldest=Min("created_at")).order_by()}
        now = timezone.now()
        active = GaugeMetricFamily("weft_executions_active",
                                   "Executions not yet terminal, by status.", labels=["status"])
        oldest = GaugeMetricFamily(
            "weft_executions_oldest_active_age_seconds",
            "Age (since created) of the oldest execution not yet terminal, by status; 0 when "
            "there is none.", labels=["status"])
        for status in ExecutionStatus.values:
            if status not in EXECUTION_TERMINAL:
                count, created = rows.get(status, (0, None))
                active.add_metric([status], count)
                oldest.add_metric([status], _age(now, created))
        return [active, oldest]

    def bookmarks_open(self) -> list[Metric]:
        from django.db.models import Count

        from executions.models import Bookmark, BookmarkStatus

        waits = dict(Bookmark.objects.filter(status=BookmarkStatus.OPEN)
                     .values_list("kind").annotate(n=Count("id")).order_by())
        gauge = GaugeMetricFamily("weft_bookmarks_open", "Open waits, by kind.", labels=["kind"])
        for kind, count in sorted(waits.items()):
            gauge.add_metric([kind], count)
        return [gauge]

    def outbox(self) -> list[Metric]:
        from django.db.models import Count, Min
        from django.utils import timezone

        from executions.models import OutboxEvent

        rows = {dead: (count, oldest) for dead, count, oldest in
                OutboxEvent.objects.filter(published_at__isnull=True).values_list("dead")
                .annotate(n=Count("id"), oldest=Min("created_at")).order_by()}
        backlog = GaugeMetricFamily("weft_outbox_backlog",
                                    "Outbox events not published: pending or dead.",
                                    labels=["state"])
        pending, oldest = rows.get(False, (0, None))
        backlog.add_metric(["pending"], pending)
        backlog.add_metric(["dead"], rows.get(True, (0, None))[0])
        lag = _gauge("weft_outbox_oldest_pending_age_seconds",
                     "Age of the oldest outbox event not yet published (and not dead): the "
                     "outbox's lag; 0 when none is pending.", _age(timezone.now(), oldest))
        return [backlog, lag]

    def timers_overdue(self) -> list[Metric]:
        from django.db.models import Count, Min
        from django.utils import timezone

        from executions.models import EXECUTION_ADVANCING, Bookmark, BookmarkStatus

        now = timezone.now()
        late = now - timedelta(seconds=settings.MONITORING_TIMER_OVERDUE_AFTER_SECONDS)
        # Only the waits of running and waiting executions fire (not a paused one's).
        found = Bookmark.objects.filter(
            status=BookmarkStatus.OPEN, due_at__lt=late,
            execution__status__in=EXECUTION_ADVANCING,
        ).aggregate(n=Count("id"), oldest=Min("due_at"))
        return [
            _gauge("weft_timers_overdue",
                   "Open waits with a due time (timers, timeouts) past it by more than "
                   "MONITORING_TIMER_OVERDUE_AFTER_SECONDS, of executions that advance.",
                   found["n"]),
            _gauge("weft_timer_lag_seconds",
                   "How far past its due time the most overdue of those waits is; 0 when "
                   "none is.", _age(now, found["oldest"])),
        ]

    def executions_stalled(self) -> list[Metric]:
        from django.db.models import Exists, OuterRef, Q
        from django.utils import timezone

        from executions.models import Execution, ExecutionStatus, NodeExecution, NodeStatus

        now = timezone.now()
        cutoff = now - timedelta(seconds=settings.MONITORING_STALLED_AFTER_SECONDS)
        # Progress: a node sent, started or finished since the cutoff, a node running within
        # its lease, a retry still to come, or a node waiting (for a person, a time, a
        # message, a child: not stuck).
        progressing = NodeExecution.objects.filter(execution=OuterRef("pk")).filter(
            Q(dispatched_at__gte=cutoff) | Q(started_at__gte=cutoff)
            | Q(finished_at__gte=cutoff)
            | Q(status=NodeStatus.RUNNING, lease_expires_at__gt=now)
            | Q(status=NodeStatus.RETRYING, retry_at__gt=now)
            | Q(status=NodeStatus.WAITING))
        stalled = Execution.objects.filter(
            status=ExecutionStatus.RUNNING, started_at__lt=cutoff,
        ).exclude(Exists(progressing)).count()
        return [_gauge("weft_executions_stalled",
                       "Running executions without progress for "
                       "MONITORING_STALLED_AFTER_SECONDS: no node sent, started or finished "
                       "since, none running within its lease, retrying later or waiting.",
                       stalled)]

    def database_connections(self) -> list[Metric]:
        from django.db import connection

        if connection.vendor != "postgresql":
            return []
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT COALESCE(state, 'unknown'), count(*), "
                "current_setting('max_connections')::int FROM pg_stat_activity "
                "WHERE backend_type = 'client backend' GROUP BY 1")
            rows = cursor.fetchall()
        connections = GaugeMetricFamily(
            "weft_database_connections",
            "Client connections to the PostgreSQL server, by state (pg_stat_activity).",
            labels=["state"])
        maximum = 0
        for state, count, limit in rows:
            connections.add_metric([state], count)
            maximum = limit
        return [connections, _gauge("weft_database_connections_max",
                                    "PostgreSQL's max_connections.", maximum)]


class BreakerCollector(SoftCollector):
    """The state of every circuit breaker, read from Redis where the workers share it."""

    def reads(self) -> list[tuple[str, Read]]:
        return [("circuit breakers", self.breakers)]

    def breakers(self) -> list[Metric]:
        from workflows.nodes.breaker import _client

        prefix, suffix = BREAKER_KEYS.split("*")
        client = _client()
        keys = []
        for key in client.scan_iter(match=BREAKER_KEYS, count=500):
            keys.append(key.decode())
            if len(keys) >= BREAKER_PEERS_MAX:
                break
        values = client.mget(keys) if keys else []
        gauge = GaugeMetricFamily("weft_circuit_breaker_state",
                                  "Circuit breaker per peer: 0 closed, 1 half-open, 2 open.",
                                  labels=["peer"])
        for key, value in zip(keys, values, strict=True):
            state = (value or b"closed").decode()
            gauge.add_metric([key[len(prefix):-len(suffix)]], BREAKER_STATES.get(state, 0))
        return [gauge]


class PlatformCollector(SoftCollector):
    """The broker's queues, the Redis locks and the workers' heartbeats."""

    def reads(self) -> list[tuple[str, Read]]:
        return [("the broker's queues", self.queues), ("the locks", self.locks),
                ("the workers' heartbeats", self.workers)]

    def queues(self) -> list[Metric]:
        from monitoring.broker import queues_read

        messages = GaugeMetricFamily(
            "weft_queue_messages", "Messages of each queue: ready (waiting for a worker) and "
            "unacked (held by a worker).", labels=["queue", "state"])
        consumers = GaugeMetricFamily("weft_queue_consumers", "Consumers of each queue.",
                                      labels=["queue"])
        oldest = GaugeMetricFamily("weft_queue_oldest_message_age_seconds",
                                   "How long the oldest ready message of each queue has "
                                   "waited; 0 when none waits.", labels=["queue"])
        for queue in queues_read():  # bounded by BROKER_STATS_TIMEOUT; never raises
            name = queue["name"]
            for state in ("ready", "unacked"):
                if queue[state] is not None:
                    messages.add_metric([name, state], queue[state])
            if queue["consumers"] is not None:
                consumers.add_metric([name], queue["consumers"])
            if queue["oldest_age_seconds"] is not None:
                oldest.add_metric([name], queue["oldest_age_seconds"])
        return [family for family in (messages, consumers, oldest) if family.samples]

    def locks(self) -> list[Metric]:
        from monitoring.selectors.platform import locks_active

        counts = dict.fromkeys(LOCK_KINDS, 0)
        for lock in locks_active():
            counts[lock["kind"]] = counts.get(lock["kind"], 0) + 1
        gauge = GaugeMetricFamily("weft_locks_active", "Redis locks held now, by kind.",
                                  labels=["kind"])
        for kind, count in counts.items():
            gauge.add_metric([kind], count)
        return [gauge, _gauge("weft_beat_leader",
                              "1 while a beat holds the leader lock (periodic tasks are "
                              "sent), else 0.", 1 if counts["beat_leader"] else 0)]

    def workers(self) -> list[Metric]:
        from workflows.caching import redis_client

        alive = workers_alive(redis_client(), time.time())
        return [
            _gauge("weft_workers_online",
                   "Celery workers whose heartbeat is recent (monitoring/metrics/heartbeat.py).",
                   len(alive)),
            _gauge("weft_worker_processes",
                   "Pool processes of the online workers, as their heartbeats report.",
                   sum(worker["processes"] for worker in alive)),
        ]


STATE_COLLECTORS: tuple[Collector, ...] = (
    EngineStateCollector(), BreakerCollector(), PlatformCollector())
