"""The performance API's figures of the platform now: the caches' hits and misses, the
broker's queues, the Redis locks, the workers, and the reset of the counters; on the real
Redis, broker, beat and workers."""

from __future__ import annotations

import time
import uuid

import pytest
from django.conf import settings as django_settings
from kombu import Connection, Exchange, Queue

from config.celery import app
from config.locks import lock_owner, lock_token
from executions.services.concurrency import admission
from monitoring.metrics.collectors import PlatformCollector
from monitoring.models import AuditAction, AuditLog
from tests.engine import workflow_from
from tests.servers import json_peer
from workflows.caching import process_caches_clear

pytestmark = [pytest.mark.django_db]

PATHS = ("/api/performance/cache", "/api/performance/cache/plan",
         "/api/performance/queue/length", "/api/performance/queue/pending",
         "/api/performance/locks/active", "/api/performance/workers",
         "/api/performance/failures")


def poll(read, until, timeout: float = 20.0):
    """`read()` until `until(value)`; the last value either way."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if until(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.5)


def by_name(body: dict, name: str) -> dict:
    return next(item for item in body["caches" if "caches" in body else "queues"]
                if item["name"] == name)


# --- caches and reset ----------------------------------------------------------------------------


def test_cache_hits_and_misses_are_counted_and_reset_by_an_admin(viewer, wf_admin, client_for):
    admin, api = client_for(wf_admin), client_for(viewer)
    # given counters reset by an admin
    reset = admin.post("/api/performance/metrics/reset")
    assert reset.status_code == 200, reset.json()
    since = api.get("/api/performance/cache").json()["since"]
    assert since is not None
    # when the node types are read three times by a fresh process (a miss, two hits)
    process_caches_clear()
    for _ in range(3):
        assert api.get("/api/nodes/types").status_code == 200
    body = api.get("/api/performance/cache").json()
    one = api.get("/api/performance/cache/node_types").json()
    # then the node types' cache says so, and every cache is listed
    assert {cache["name"] for cache in body["caches"]} == {
        "plan", "definition", "node_types", "schema_patterns"}
    node_types = by_name(body, "node_types")
    assert (node_types["hits"], node_types["misses"], node_types["lookups"]) == (2, 1, 3)
    assert node_types["hit_rate"] == round(2 / 3, 4)
    assert one["hits"] == 2 and one["since"] == since
    # and a second reset zeroes them, recorded in the audit log with the counts before
    again = admin.post("/api/performance/metrics/reset").json()
    assert again["before"]["caches"]["node_types"]["process"] == {"hit": 2, "miss": 1}
    after = by_name(api.get("/api/performance/cache").json(), "node_types")
    assert (after["hits"], after["misses"], after["hit_rate"]) == (0, 0, None)
    entry = AuditLog.objects.filter(action=AuditAction.RESET).first()
    assert entry.actor == wf_admin and entry.object_type == "metrics"
    assert entry.before["caches"]["node_types"]["process"]["hit"] == 2


def test_an_unknown_cache_is_a_404_naming_the_caches(viewer, client_for):
    response = client_for(viewer).get("/api/performance/cache/templates")
    assert response.status_code == 404
    assert "node_types" in response.json()["message"]


def test_the_figures_need_workflow_read_and_the_reset_workflow_admin(client_for, nobody,
                                                                    viewer, operator):
    for path in PATHS:
        assert client_for(nobody).get(path).status_code == 403, path
        assert client_for(None).get(path).status_code in (401, 403), path
    for user in (viewer, operator):
        assert client_for(user).post("/api/performance/metrics/reset").status_code == 403
    assert not AuditLog.objects.filter(action=AuditAction.RESET).exists()


# --- queues --------------------------------------------------------------------------------------


def _management_api_checked() -> None:
    """The queue figures need RabbitMQ's management API; CI enables it (.ci/run)."""
    import os

    import httpx

    from monitoring.broker import management_url

    broker = django_settings.CELERY_BROKER_URL
    if not broker.startswith("amqp"):
        return
    base, _, credentials = management_url(broker)
    try:
        httpx.get(f"{base}/api/overview", auth=credentials, timeout=2).raise_for_status()
    except httpx.HTTPError as exc:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"RabbitMQ's management API is not reachable at {base} ({exc}); "
                    "`rabbitmq-plugins enable rabbitmq_management` enables it")


@pytest.fixture
def idle_queue(settings):
    """The platform's queues renamed to a fresh one no worker consumes."""
    name = f"weft-test-{uuid.uuid4().hex[:8]}"
    queue = Queue(name, Exchange(name), routing_key=name, durable=False, auto_delete=False,
                  queue_arguments={"x-max-priority": 10})
    settings.CELERY_TASK_QUEUES = (queue,)
    settings.CELERY_TASK_DEFAULT_QUEUE = name
    yield queue
    with Connection(django_settings.CELERY_BROKER_URL) as connection:
        queue(connection.default_channel).delete()


def _send(queue: Queue, count: int) -> None:
    for n in range(count):
        app.send_task("tests.nothing", args=[n], queue=queue, routing_key=queue.name)


@pytest.mark.services
def test_queue_length_and_pending_are_the_brokers_figures(idle_queue, viewer, client_for):
    _management_api_checked()
    api = client_for(viewer)
    # given three task messages waiting in a queue no worker consumes
    sent = time.time()
    _send(idle_queue, 3)
    # when the queue's figures are read (RabbitMQ refreshes them every few seconds)
    length = poll(lambda: api.get("/api/performance/queue/length").json(),
                  lambda body: by_name(body, idle_queue.name)["ready"] == 3
                  and "error" not in by_name(body, idle_queue.name))
    pending = poll(lambda: api.get("/api/performance/queue/pending").json(),
                   lambda body: by_name(body, idle_queue.name)["oldest_age_seconds"])
    # then they wait, nobody holds them, and the oldest has waited since it was sent
    queue = by_name(length, idle_queue.name)
    assert (queue["ready"], queue["unacked"], queue["consumers"]) == (3, 0, 0), queue
    assert length["ready"] == 3 and length["total"] == 3
    age = by_name(pending, idle_queue.name)["oldest_age_seconds"]
    assert 0 <= age <= time.time() - sent + 2
    assert pending["oldest_age_seconds"] == age
    # and the queues that do not exist say so instead of a number
    triggers = by_name(length, f"{idle_queue.name}.triggers")
    assert triggers["ready"] is None and triggers["error"] == "no such queue"

    # when a consumer takes one message and has not acknowledged it yet
    with Connection(django_settings.CELERY_BROKER_URL) as connection:
        taken = idle_queue(connection.default_channel).get(no_ack=False)
        assert taken is not None
        held = poll(lambda: by_name(api.get("/api/performance/queue/length").json(),
                                    idle_queue.name),
                    lambda queue: queue["unacked"] == 1)
        # then it is counted as held, not waiting
        assert (held["ready"], held["unacked"]) == (2, 1), held
        taken.requeue()


@pytest.mark.services
def test_without_the_management_api_the_ready_count_still_comes(idle_queue, settings, viewer,
                                                               client_for):
    if not django_settings.CELERY_BROKER_URL.startswith("amqp"):
        pytest.skip("the management API is RabbitMQ's; this run's broker is Redis")
    settings.RABBITMQ_MANAGEMENT_URL = "http://127.0.0.1:9"  # nothing listens there
    api = client_for(viewer)
    # given an empty queue: nothing waits, so the oldest message's age is 0 all the same
    with Connection(django_settings.CELERY_BROKER_URL) as connection:
        idle_queue(connection.default_channel).declare()
    empty = by_name(api.get("/api/performance/queue/pending").json(), idle_queue.name)
    assert (empty["ready"], empty["oldest_age_seconds"]) == (0, 0.0), empty
    # when two messages wait in it
    _send(idle_queue, 2)
    queue = by_name(api.get("/api/performance/queue/length").json(), idle_queue.name)
    # then their count comes, and what only the management API knows is null, saying why
    assert queue["ready"] == 2 and queue["consumers"] == 0
    assert queue["unacked"] is None and "management API unavailable" in queue["error"]
    assert queue["oldest_age_seconds"] is None
    # and the largest age over the queues is unknown too, not the largest known one
    pending = api.get("/api/performance/queue/pending").json()
    assert pending["ready"] >= 2 and pending["oldest_age_seconds"] is None


@pytest.mark.services
def test_consumers_the_management_api_has_not_counted_yet_come_from_the_broker(
        idle_queue, settings, viewer, client_for):
    if not django_settings.CELERY_BROKER_URL.startswith("amqp"):
        pytest.skip("the management API is RabbitMQ's; this run's broker is Redis")
    # given a queue with one consumer, and RabbitMQ's management API between two statistics
    # rounds, as RabbitMQ answers for a queue whose messages were counted and whose
    # consumers not yet
    halfway = {"messages_ready": 0, "messages_unacknowledged": 0}
    with json_peer(lambda path: (200, halfway)) as management, \
            Connection(django_settings.CELERY_BROKER_URL) as connection:
        settings.RABBITMQ_MANAGEMENT_URL = management
        channel = connection.channel()
        idle_queue(channel).declare()
        channel.basic_consume(idle_queue.name, callback=lambda message: None)
        # when the queue's figures are read, by the API and by /metrics' collector
        queue = by_name(client_for(viewer).get("/api/performance/queue/length").json(),
                        idle_queue.name)
        gauges = {family.name: family for family in PlatformCollector().queues()}
    # then the consumer is counted all the same (the broker answers a passive declaration),
    # and what the management API did know is kept
    assert (queue["ready"], queue["unacked"], queue["consumers"]) == (0, 0, 1), queue
    assert [sample.value for sample in gauges["weft_queue_consumers"].samples
            if sample.labels["queue"] == idle_queue.name] == [1]


@pytest.mark.services
def test_the_redis_broker_of_the_embedded_default_is_read_too(settings, viewer, client_for):
    # given the broker on Redis, as on the embedded default, with two messages waiting at
    # two priorities, the older one sent 30 seconds ago
    broker = django_settings.REDIS_URL
    name = f"weft-test-{uuid.uuid4().hex[:8]}"
    settings.CELERY_BROKER_URL = broker
    settings.CELERY_TASK_QUEUES = (Queue(name, Exchange(name), routing_key=name),)
    settings.CELERY_TASK_DEFAULT_QUEUE = name
    queue = settings.CELERY_TASK_QUEUES[0]
    with Connection(broker, transport_options=django_settings.CELERY_BROKER_TRANSPORT_OPTIONS
                    ) as connection:
        producer = connection.Producer()
        try:
            producer.publish({"n": 1}, exchange=queue.exchange, routing_key=name,
                             declare=[queue], priority=3, timestamp=int(time.time()) - 30)
            producer.publish({"n": 2}, exchange=queue.exchange, routing_key=name,
                             declare=[queue], priority=8, timestamp=int(time.time()))
            # when the queue's figures are read
            body = client_for(viewer).get("/api/performance/queue/pending").json()
        finally:
            queue(connection.default_channel).delete()
    # then both wait, and the oldest has waited its 30 seconds
    figures = by_name(body, name)
    assert figures["ready"] == 2 and figures["unacked"] == 0
    assert 30 <= figures["oldest_age_seconds"] < 40
    assert figures["consumers"] is None  # Redis keeps no consumer registry


# --- locks ---------------------------------------------------------------------------------------


def test_a_lock_token_names_its_host_and_process_only():
    token = lock_token()
    owner = lock_owner(token)
    assert owner is not None and token.startswith(owner + "/") and len(token) > len(owner) + 30
    assert lock_owner("a0c3f1d2e4b5") is None and lock_owner(None) is None


@pytest.mark.services
def test_active_locks_show_admission_and_the_beat_leader(definition, viewer, client_for,
                                                         tmp_path):
    from tests.workers import celery_beat

    api = client_for(viewer)
    workflow = workflow_from(definition(name="limited"))
    # given a running beat (the leader) and a workflow's admission held by this process
    with celery_beat(tmp_path / "beat") as (_, log):
        leader = poll(lambda: api.get("/api/performance/locks/active").json()["locks"],
                      lambda locks: any(lock["kind"] == "beat_leader" for lock in locks))
        with admission(workflow, limit=1):
            locks = api.get("/api/performance/locks/active").json()["locks"]
    # then the admission lock names the workflow and this process, with its expiry
    held = next(lock for lock in locks if lock["kind"] == "admission")
    assert held["subject"] == workflow.full_name
    assert held["owner"] == lock_owner(lock_token())
    assert 0 < held["expires_in_seconds"] <= 30 and held["expires_at"]
    # and the beat's lock names the beat's process, expiring within its TTL
    beat = next(lock for lock in leader if lock["kind"] == "beat_leader")
    assert beat["owner"] and beat["owner"] != held["owner"], log.read_text()[-2000:]
    assert 0 < beat["expires_in_seconds"] <= django_settings.BEAT_LEADER_LOCK_TTL
    # and no token is shown: whoever reads the API cannot release a lock
    assert all(lock["owner"].count("/") == 1 for lock in locks + leader)
    after = api.get("/api/performance/locks/active").json()["locks"]
    assert not any(lock["kind"] == "admission" for lock in after)


# --- workers -------------------------------------------------------------------------------------


@pytest.mark.services
def test_the_workers_that_answer_are_listed(viewer, client_for, worker):
    body = client_for(viewer).get("/api/performance/workers").json()
    assert body["online"] >= 1
    mine = next(item for item in body["workers"] if item["name"] == worker.name)
    assert mine["processes"] == 2 and mine["tasks_running"] >= 0 and mine["uptime_seconds"] >= 0
