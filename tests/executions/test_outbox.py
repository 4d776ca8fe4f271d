"""The outbox: one event per log entry in the same transaction, published to the broker's
`workflow.events` exchange; a broker that cannot be reached means backoff, then dead."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from kombu import Connection, Queue

from config.celery import app
from executions import services
from executions.models import ExecutionLog, OutboxEvent
from executions.services.outbox import EVENTS_EXCHANGE, outbox_dispatch
from tests.engine import workflow_from

pytestmark = [pytest.mark.services, pytest.mark.django_db]

UNREACHABLE_BROKER = "amqp://guest:guest@127.0.0.1:1//"


@pytest.fixture
def started(definition):
    """An execution started in the test's transaction (its tasks are never sent)."""
    execution, _ = services.execution_start(workflow=workflow_from(definition()),
                                            input={"name": "Ada"})
    return execution


@pytest.fixture
def events_queue():
    """A queue bound to every routing key of the events exchange, on the real broker."""
    with app.connection_for_write() as connection:
        queue = Queue(f"test-events-{uuid.uuid4().hex[:8]}", EVENTS_EXCHANGE,
                      routing_key="#", durable=False)
        bound = queue(connection.default_channel)
        bound.declare()
        yield connection.SimpleQueue(queue)
        bound.delete()


def received(simple_queue, count: int) -> list[dict]:
    messages = []
    for _ in range(count):
        message = simple_queue.get(timeout=10)
        message.ack()
        messages.append((message.delivery_info.get("routing_key"), message.payload))
    return messages


def test_every_log_entry_becomes_an_outbox_event_with_a_small_payload(started):
    # when an execution starts, its log records pending and running
    logs = list(ExecutionLog.objects.filter(execution=started).values_list("event", flat=True))
    events = list(OutboxEvent.objects.filter(execution=started))
    # then each entry has its outbox event, pending, with ids and statuses only
    assert [event.event for event in events] == logs == ["execution.pending",
                                                         "execution.running"]
    running = events[1]
    assert running.state == "pending" and running.attempts == 0
    assert set(running.payload) == {"execution", "workflow", "node", "status",
                                    "execution_status", "attempt", "at"}
    assert running.payload["execution"] == str(started.pk)
    assert running.payload["status"] == "running" and running.payload["node"] is None


def test_a_rolled_back_change_leaves_no_event(started):
    from executions.services.transitions import log_entry, logs_write

    before = OutboxEvent.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        logs_write([log_entry(started, "node.completed", node_id="greet", data={"attempt": 1})])
        raise RuntimeError("the change fails after its log was written")
    assert OutboxEvent.objects.count() == before


def test_dispatch_publishes_each_event_to_the_exchange_by_event_name(started, events_queue):
    # when the dispatcher runs (as beat would)
    counts = outbox_dispatch()
    # then both events went to the broker, routed by their names, and are marked published
    assert counts == {"published": 2, "failed": 0, "dead": 0}
    messages = received(events_queue, 2)
    assert [key for key, _ in messages] == ["execution.pending", "execution.running"]
    assert all(body["execution"] == str(started.pk) for _, body in messages)
    assert messages[0][1]["sequence"] < messages[1][1]["sequence"]
    assert not OutboxEvent.objects.filter(published_at__isnull=True).exists()
    # and a second run publishes nothing again
    assert outbox_dispatch()["published"] == 0


def test_an_unreachable_broker_backs_off_then_dead_letters(started, settings, admin_client):
    settings.WORKFLOW_OUTBOX_MAX_ATTEMPTS = 3
    broken = Connection(UNREACHABLE_BROKER, connect_timeout=1)
    # when the dispatcher cannot reach its broker
    first = outbox_dispatch(connection=broken)
    # then every event is kept with its error and is retried later, not now
    assert first == {"published": 0, "failed": 2, "dead": 0}
    event = OutboxEvent.objects.filter(execution=started).first()
    assert event.attempts == 1 and event.published_at is None and not event.dead
    assert event.last_error
    assert timedelta(seconds=0.5) < event.next_attempt_at - timezone.now() <= timedelta(
        seconds=1)
    assert outbox_dispatch(connection=broken)["failed"] == 0  # not due yet
    # when it is due again and still fails, the delay doubles
    OutboxEvent.objects.update(next_attempt_at=timezone.now())
    outbox_dispatch(connection=broken)
    event.refresh_from_db()
    assert event.attempts == 2
    assert timedelta(seconds=1.5) < event.next_attempt_at - timezone.now() <= timedelta(
        seconds=2)
    # when the last attempt fails, the event is dead: kept, never sent again
    OutboxEvent.objects.update(next_attempt_at=timezone.now())
    assert outbox_dispatch(connection=broken) == {"published": 0, "failed": 2, "dead": 2}
    event.refresh_from_db()
    assert event.dead and event.attempts == 3 and event.state == "dead"
    assert outbox_dispatch() == {"published": 0, "failed": 0, "dead": 0}
    # and an operator finds it in the admin's dead letters
    page = admin_client.get("/admin/executions/outboxevent/?state=dead")
    assert page.status_code == 200
    assert "execution.running" in page.content.decode()
