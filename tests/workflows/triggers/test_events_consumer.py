"""The trigger consumer's delivery rules, in this process on kombu's in-memory broker: a
database that is down puts the message back (no ack); any other failure dead-letters it.
The database outage is simulated: it is the one thing here that crosses the machine edge."""

from __future__ import annotations

import json

import pytest
from django.db import OperationalError
from kombu import Connection

from executions.models import Execution
from workflows import consumers
from workflows.services import workflow_create
from workflows.triggers.events import EXCHANGE, dead_letter_queue, trigger_queue

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def broker(monkeypatch):
    """A trigger consumer step on an in-memory broker; yields a function that publishes a
    message and lets the consumer take what is delivered."""
    monkeypatch.setattr(consumers, "REQUEUE_DELAY", 0)
    with Connection("memory://") as connection:
        channel = connection.channel()
        step = consumers.TriggerConsumerStep(None)
        for consumer in step.get_consumers(channel):
            consumer.consume()

        def deliver(routing_key: str, body: dict) -> None:
            connection.Producer().publish(
                json.dumps(body).encode(), exchange=EXCHANGE, routing_key=routing_key,
                declare=[EXCHANGE, trigger_queue()], content_type="application/json",
                content_encoding="utf-8")

        def drain() -> int:
            handled = 0
            while True:
                try:
                    connection.drain_events(timeout=0.2)
                except TimeoutError:
                    return handled
                handled += 1

        deliver.drain = drain
        deliver.dead = lambda: dead_letter_queue()(connection.default_channel).get(
            no_ack=True)
        yield deliver
        channel.close()


def test_a_database_outage_puts_the_message_back_and_it_is_handled_later(broker,
                                                                        monkeypatch):
    # given a workflow, and a database that fails once
    workflow_create(definition={
        "name": "greet", "nodes": [{"id": "log", "type": "Logger", "data": {"message": "hi"}}],
    }, actor=None)
    handle, failures = consumers.trigger_message_handle, []

    def flaky(**kwargs):
        if not failures:
            failures.append(kwargs)
            raise OperationalError("the database is unavailable")
        return handle(**kwargs)

    monkeypatch.setattr(consumers, "trigger_message_handle", flaky)

    # when a trigger message arrives
    broker("workflow.trigger", {"workflow": "greet"})

    # then it is delivered again after the failure, starts the workflow once, and is done
    assert broker.drain() == 2
    assert len(failures) == 1
    assert Execution.objects.count() == 1
    assert broker.drain() == 0
    assert broker.dead() is None


def test_an_unexpected_failure_is_dead_lettered_and_the_consumer_goes_on(broker,
                                                                         monkeypatch):
    # given a handler that breaks on one kind of message
    handle = consumers.trigger_message_handle

    def broken(**kwargs):
        if b"boom" in kwargs["body"]:
            raise RuntimeError("boom")
        return handle(**kwargs)

    monkeypatch.setattr(consumers, "trigger_message_handle", broken)

    # when that message comes, then a good one
    broker("workflow.event", {"event": "boom"})
    broker("workflow.message", {"message_type": "paid", "correlation_key": "1"})

    # then the first is dead-lettered with the reason and the second is consumed
    assert broker.drain() == 2
    letter = broker.dead()
    assert letter.headers["x-weft-error"] == "trigger_failed: RuntimeError: boom"
    assert letter.headers["x-weft-routing-key"] == "workflow.event"
    assert broker.dead() is None
