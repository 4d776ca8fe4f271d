"""The gauges `/metrics` computes at scrape time, against data the tests make: overdue
timers, stalled executions, the outbox's lag, the oldest active execution, locks and the
beat leader, workers' heartbeats, database connections, the broker's queues; and a read
that fails leaves its families out, logged once."""

from __future__ import annotations

import json
import logging
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from config.beat import LOCK_NAME
from config.locks import lock_token
from executions import services
from executions.models import Bookmark, Execution, NodeExecution, OutboxEvent
from executions.services import sweeper
from monitoring.metrics.heartbeat import HEARTBEATS_KEY
from tests.engine import workflow_from
from tests.servers import METRICS_HEADERS
from workflows.caching import redis_client

pytestmark = [pytest.mark.services, pytest.mark.django_db]

DELAY = {"nodes": [{"id": "pause", "type": "Delay", "data": {"seconds": 3600}}],
         "edges": []}


def scrape(client) -> dict[tuple[str, tuple], float]:
    """`/metrics` as {(sample name, sorted labels): value}."""
    response = client.get("/metrics", headers=METRICS_HEADERS)
    assert response.status_code == 200
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.content.decode())
            for sample in family.samples}


def value(samples: dict, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def families(samples: dict) -> set[str]:
    return {name for name, _ in samples}


def _execution(definition, name: str, *, status: str = "running", **fields) -> Execution:
    document = definition(name=name, **DELAY)
    execution, _ = services.execution_start(workflow=workflow_from(document), input={})
    Execution.objects.filter(pk=execution.pk).update(status=status, **fields)
    return execution


def test_an_overdue_timer_is_counted_with_its_lag(client, definition, settings):
    # given a timer a minute overdue, one due moments ago (within the allowance), and one
    # overdue of a paused execution (its waits do not fire)
    settings.MONITORING_TIMER_OVERDUE_AFTER_SECONDS = 10
    now = timezone.now()
    late = _execution(definition, "late", status="waiting")
    Bookmark.objects.create(execution=late, node_id="pause", kind="timer", token="late",
                            due_at=now - timedelta(seconds=60))
    recent = _execution(definition, "recent", status="waiting")
    Bookmark.objects.create(execution=recent, node_id="pause", kind="timer", token="recent",
                            due_at=now - timedelta(seconds=2))
    paused = _execution(definition, "paused", status="paused")
    Bookmark.objects.create(execution=paused, node_id="pause", kind="timer", token="paused",
                            due_at=now - timedelta(seconds=600))

    # when Prometheus scrapes
    samples = scrape(client)

    # then one timer is overdue, by about a minute
    assert value(samples, "weft_timers_overdue") == 1
    assert 60 <= value(samples, "weft_timer_lag_seconds") < 90


def test_no_overdue_timer_is_a_lag_of_zero(client):
    samples = scrape(client)
    assert value(samples, "weft_timers_overdue") == 0
    assert value(samples, "weft_timer_lag_seconds") == 0


def test_a_running_execution_without_progress_is_stalled(client, definition, settings):
    # given executions running for an hour: one whose node was sent an hour ago and never
    # taken, one whose node runs within its lease, one whose node is sent again just now
    settings.MONITORING_STALLED_AFTER_SECONDS = 900
    now = timezone.now()
    hour_ago = now - timedelta(hours=1)
    stuck = _execution(definition, "stuck", started_at=hour_ago)
    NodeExecution.objects.filter(execution=stuck).update(status="pending",
                                                         dispatched_at=hour_ago)
    busy = _execution(definition, "busy", started_at=hour_ago)
    NodeExecution.objects.filter(execution=busy).update(
        status="running", started_at=hour_ago, lease_expires_at=now + timedelta(hours=1))
    resent = _execution(definition, "resent", started_at=hour_ago)
    NodeExecution.objects.filter(execution=resent).update(status="pending", dispatched_at=now)

    # when Prometheus scrapes, then only the first is stalled
    assert value(scrape(client), "weft_executions_stalled") == 1

    # and with a longer patience, none is
    settings.MONITORING_STALLED_AFTER_SECONDS = 7200
    assert value(scrape(client), "weft_executions_stalled") == 0


def test_the_oldest_active_execution_per_status(client, definition):
    # given a pending execution created five minutes ago, and a running one just now
    old = _execution(definition, "old", status="pending")
    Execution.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    _execution(definition, "new", status="running")

    samples = scrape(client)

    assert 300 <= value(samples, "weft_executions_oldest_active_age_seconds",
                        status="pending") < 330
    assert value(samples, "weft_executions_oldest_active_age_seconds", status="running") < 30
    assert value(samples, "weft_executions_oldest_active_age_seconds", status="paused") == 0


def test_the_outbox_lag_is_the_age_of_its_oldest_pending_event(client, definition):
    # given an execution's events: published ones, a dead one from long ago, and one pending
    # for two minutes
    execution = _execution(definition, "outboxed")
    OutboxEvent.objects.filter(execution=execution).update(published_at=timezone.now())
    now = timezone.now()
    dead = OutboxEvent.objects.create(execution=execution, event="node.failed", dead=True)
    pending = OutboxEvent.objects.create(execution=execution, event="node.running")
    OutboxEvent.objects.filter(pk=dead.pk).update(created_at=now - timedelta(hours=2))
    OutboxEvent.objects.filter(pk=pending.pk).update(created_at=now - timedelta(minutes=2))

    samples = scrape(client)

    # then the lag is the pending event's age (a dead event is not lag: it is in the backlog)
    assert 120 <= value(samples, "weft_outbox_oldest_pending_age_seconds") < 150
    assert value(samples, "weft_outbox_backlog", state="dead") == 1

    # and once it is published, there is no lag
    OutboxEvent.objects.filter(pk=pending.pk).update(published_at=timezone.now())
    assert value(scrape(client), "weft_outbox_oldest_pending_age_seconds") == 0


@pytest.fixture
def beat_lock():
    """The beat leader's lock held in Redis, as a beat holds it."""
    client = redis_client()
    assert client.set(LOCK_NAME, lock_token(), nx=True, ex=30), "a beat holds the lock already"
    yield
    client.delete(LOCK_NAME)


def test_the_beat_leader_and_the_locks(client, beat_lock):
    samples = scrape(client)
    assert value(samples, "weft_beat_leader") == 1
    assert value(samples, "weft_locks_active", kind="beat_leader") == 1
    assert value(samples, "weft_locks_active", kind="admission") == 0
    assert value(samples, "weft_locks_active", kind="sync") == 0


def test_no_beat_leader_is_a_zero(client):
    samples = scrape(client)
    assert value(samples, "weft_beat_leader") == 0
    assert value(samples, "weft_locks_active", kind="beat_leader") == 0


@pytest.fixture
def heartbeats():
    client = redis_client()
    client.delete(HEARTBEATS_KEY)
    yield client
    client.delete(HEARTBEATS_KEY)


def test_workers_online_are_those_with_a_recent_heartbeat(client, heartbeats):
    # given two workers that beat just now (4 and 2 processes), and one silent for a minute
    now = time.time()
    heartbeats.hset(HEARTBEATS_KEY, mapping={
        "one@host": json.dumps({"processes": 4, "at": now - 5}),
        "two@host": json.dumps({"processes": 2, "at": now}),
        "gone@host": json.dumps({"processes": 8, "at": now - 60}),
        "forgotten@host": json.dumps({"processes": 8, "at": now - 2 * 86400}),
    })

    samples = scrape(client)

    assert value(samples, "weft_workers_online") == 2
    assert value(samples, "weft_worker_processes") == 6
    # and a worker silent for a day is forgotten
    assert not heartbeats.hexists(HEARTBEATS_KEY, "forgotten@host")


def test_database_connections_against_the_servers_limit(client):
    if connection.vendor != "postgresql":
        # on SQLite there is nothing to count: the families are left out
        assert "weft_database_connections_max" not in families(scrape(client))
        return
    with connection.cursor() as cursor:
        cursor.execute("SHOW max_connections")
        limit = int(cursor.fetchone()[0])

    samples = scrape(client)

    assert value(samples, "weft_database_connections_max") == limit
    # this test's own connection is one of them, active while it asks
    assert value(samples, "weft_database_connections", state="active") >= 1
    total = sum(v for (name, _), v in samples.items() if name == "weft_database_connections")
    assert 1 <= total <= limit


def test_the_queues_of_the_platform(client, settings):
    from config.celery import app

    with app.connection_for_write() as broker:  # the engine's queue exists, as in a deployment
        for declared in settings.CELERY_TASK_QUEUES:
            declared(broker.default_channel).declare()
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    # RabbitMQ's management API has no figures for a queue before its first statistics
    # interval (5 s): they are left out until then
    deadline = time.monotonic() + 15
    while value(samples := scrape(client), "weft_queue_messages", queue=queue,
                state="ready") is None:
        assert time.monotonic() < deadline, "no figures of the engine's queue"
        time.sleep(0.5)
    assert value(samples, "weft_queue_oldest_message_age_seconds", queue=queue) is not None
    if settings.CELERY_BROKER_URL.startswith("amqp"):  # Redis keeps no consumer registry
        assert value(samples, "weft_queue_consumers", queue=queue) is not None


def test_a_sweeper_repair_is_counted_by_kind(definition):
    # given a running node whose lease ran out (its worker died)
    execution = _execution(definition, "lost")
    NodeExecution.objects.filter(execution=execution).update(
        status="running", attempt=1, started_at=timezone.now() - timedelta(minutes=5),
        lease_expires_at=timezone.now() - timedelta(minutes=1))
    before = REGISTRY.get_sample_value("weft_sweeper_actions_total", {"action": "lost"})

    # when the sweeper runs
    assert sweeper.sweep()["lost"] == 1

    # then its repair is counted under the sweeper's own name for it
    assert REGISTRY.get_sample_value("weft_sweeper_actions_total", {"action": "lost"}) == (
        before + 1)


def test_a_read_that_fails_leaves_its_families_out_and_is_logged_once(client, settings,
                                                                      caplog):
    # given Redis unreachable for the platform (breakers, locks, heartbeats are read there)
    settings.REDIS_URL = "redis://127.0.0.1:9/0"
    from workflows import caching
    from workflows.nodes import breaker

    clients = (breaker._client, caching._client)  # made once per process, from REDIS_URL
    for made in clients:
        made.cache_clear()
    try:
        with caplog.at_level(logging.ERROR, logger="monitoring.metrics.collectors"):
            # when Prometheus scrapes twice
            first, second = scrape(client), scrape(client)
    finally:
        for made in clients:
            made.cache_clear()

    # then the scrape answers without those families, with the database's
    for samples in (first, second):
        assert "weft_locks_active" not in families(samples)
        assert "weft_workers_online" not in families(samples)
        assert "weft_executions_active" in families(samples)
    # and each failing read is logged once, not at every scrape
    logged = [record.getMessage() for record in caplog.records]
    assert logged.count("metrics: the locks could not be read") == 1
    assert logged.count("metrics: the workers' heartbeats could not be read") == 1
