"""AMQP triggers end to end: messages published on RabbitMQ, consumed by the real worker's
trigger bootstep, starting workflows, resuming waits or landing in the dead-letter queue."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from kombu import Connection

from executions import services
from executions.models import Execution
from tests.engine import wait_for, workflow_from
from workflows.triggers.events import EXCHANGE, dead_letter_queue, trigger_queue

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True),
              pytest.mark.usefixtures("worker")]

DEADLINE = 30.0


def broker() -> Connection:
    """A connection to the deployment's broker, with its transport options (the Redis
    transport's key separator must be the workers')."""
    return Connection(settings.CELERY_BROKER_URL,
                      transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS)


def publish(routing_key: str, body: Any, **properties: Any) -> None:
    """What a producer outside Weft does: a persistent JSON message on `workflows`."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    with broker() as connection:
        connection.Producer().publish(
            raw, exchange=EXCHANGE, routing_key=routing_key,
            declare=[EXCHANGE, trigger_queue()], content_type="application/json",
            content_encoding="utf-8", delivery_mode=2, **properties,
        )


def until(probe: Callable[[], Any], timeout: float = DEADLINE) -> Any:
    """Poll the database until the probe returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"nothing after {timeout}s")
        time.sleep(0.05)


def executions_of(workflow) -> list[Execution]:
    return list(Execution.objects.filter(workflow=workflow).order_by("created_at"))


def simple(name: str, *, events=(), inputs=None, message: str = "{{ input }}"):
    definition = {
        "name": name, "namespace": "amqp",
        "triggers": [{"event": event} for event in events],
        "nodes": [{"id": "echo", "type": "Transform", "data": {"template": message}}],
    }
    if inputs is not None:
        definition["inputs"] = inputs
    return workflow_from(definition)


@pytest.fixture
def dead_letters():
    """The deployment's dead-letter queue, emptied first; returns the letters that came
    (raw: a letter's body may be anything, so it is not decoded)."""
    with broker() as connection:
        queue = dead_letter_queue()(connection.default_channel)
        queue.declare()
        queue.purge()

        def take(count: int) -> list[Any]:
            letters = []
            deadline = time.monotonic() + DEADLINE
            while len(letters) < count and time.monotonic() < deadline:
                letter = queue.get(no_ack=True)
                if letter is None:
                    time.sleep(0.1)
                    continue
                letters.append(letter)
            return letters

        yield take


def test_a_trigger_message_starts_the_workflow_by_name_by_id_and_at_a_version():
    # given a workflow with two versions
    from workflows.services import workflow_update

    workflow = simple("greet", message="v1 {{ input.name }}")
    workflow_update(workflow=workflow, actor=None, definition={
        "name": "greet", "namespace": "amqp",
        "nodes": [{"id": "echo", "type": "Transform",
                   "data": {"template": "v2 {{ input.name }}"}}]})

    # when it is triggered by name, then by id at version 1
    publish("workflow.trigger", {"workflow": "amqp/greet", "input": {"name": "Ada"}})
    publish("workflow.trigger", {"workflow": str(workflow.pk), "version": 1,
                                 "input": {"name": "Bob"}})

    # then both run to completion, each on its version, marked as started by an event
    first, second = until(lambda: len(executions_of(workflow)) == 2 and executions_of(workflow))
    assert wait_for(first).output == {"echo": "v2 Ada"}
    assert wait_for(second).output == {"echo": "v1 Bob"}
    assert {first.trigger, second.trigger} == {"event"}


def test_an_event_starts_every_subscribed_workflow_and_no_other():
    # given two subscribers of order.created and a workflow subscribed to another event
    invoice = simple("invoice", events=["order.created"])
    ship = simple("ship", events=["order.created", "order.paid"])
    refund = simple("refund", events=["order.cancelled"])

    # when the event is published
    publish("workflow.event", {"event": "order.created", "input": {"order": 7}})

    # then both subscribers run with the event's input, and the other does not
    started = until(lambda: all(executions_of(w) for w in (invoice, ship))
                    and [executions_of(invoice)[0], executions_of(ship)[0]])
    assert [wait_for(execution).output for execution in started] == [
        {"echo": {"order": 7}}, {"echo": {"order": 7}}]
    assert executions_of(refund) == []


def test_a_message_delivered_twice_starts_one_execution():
    # given a workflow, and another one that marks the end of the stream
    workflow = simple("once", events=["once.happened"])
    marker = simple("marker")

    # when the same message arrives twice (a redelivery), by message id and by key
    publish("workflow.event", {"event": "once.happened"}, message_id="delivery-1")
    publish("workflow.event", {"event": "once.happened"}, message_id="delivery-1")
    publish("workflow.trigger", {"workflow": "amqp/once", "idempotency_key": "k-1"})
    publish("workflow.trigger", {"workflow": "amqp/once", "idempotency_key": "k-1"})
    publish("workflow.trigger", {"workflow": "amqp/marker"})

    # then, once the stream is consumed, each message started one execution
    wait_for(until(lambda: executions_of(marker) and executions_of(marker)[0]))
    keys = sorted(execution.idempotency_key for execution in executions_of(workflow))
    assert keys == [f"event:delivery-1:{workflow.pk}", "k-1"]


def test_malformed_messages_are_dead_lettered_with_the_reason_and_the_next_one_runs(
        dead_letters):
    # given a workflow whose input needs a name
    workflow = simple("strict", inputs={"type": "object", "required": ["name"],
                                        "properties": {"name": {"type": "string"}}})
    marker = uuid.uuid4().hex

    # when three bad messages come before a good one
    publish("workflow.trigger", b"{this is not json", message_id=f"{marker}-1")
    publish("workflow.trigger", {"workflow": "amqp/nobody"}, message_id=f"{marker}-2")
    publish("workflow.trigger", {"workflow": "amqp/strict", "input": {"name": 5}},
            message_id=f"{marker}-3")
    publish("workflow.trigger", {"workflow": "amqp/strict", "input": {"name": "ok"}})

    # then the good one runs
    execution = wait_for(until(lambda: executions_of(workflow) and executions_of(workflow)[0]))
    assert execution.status == "completed"
    assert len(executions_of(workflow)) == 1
    # and each bad one is in the dead-letter queue, unchanged, with its reason
    letters = {letter.headers["x-weft-message-id"]: letter for letter in dead_letters(3)}
    assert set(letters) == {f"{marker}-1", f"{marker}-2", f"{marker}-3"}
    body = letters[f"{marker}-1"].body  # py-amqp decodes a utf-8 body to text
    assert (body.encode() if isinstance(body, str) else body) == b"{this is not json"
    assert letters[f"{marker}-1"].headers["x-weft-error"].startswith(
        "malformed_message: The body is not JSON")
    assert letters[f"{marker}-2"].headers["x-weft-error-code"] == "workflow_not_found"
    assert "amqp/nobody" in letters[f"{marker}-2"].headers["x-weft-error"]
    assert letters[f"{marker}-3"].headers["x-weft-error-code"] == "invalid_execution_input"
    assert "name" in letters[f"{marker}-3"].headers["x-weft-error"]
    assert {letter.headers["x-weft-routing-key"] for letter in letters.values()} == {
        "workflow.trigger"}


def test_an_unknown_routing_key_is_dead_lettered(dead_letters):
    # given the queue is bound to the three keys only, publish straight to it
    with broker() as connection:
        connection.Producer().publish(
            {"workflow": "x"}, exchange="", routing_key=trigger_queue().name,
            declare=[trigger_queue()], serializer="json", message_id="stray")

    letter = dead_letters(1)[0]

    assert letter.headers["x-weft-error-code"] == "unknown_routing_key"
    assert letter.headers["x-weft-routing-key"] == trigger_queue().name


def test_an_amqp_message_resumes_the_wait_with_its_key():
    # given two executions waiting for a payment with different correlation keys
    definition = {
        "name": "await-payment", "namespace": "amqp",
        "nodes": [{"id": "reply", "type": "WaitForMessage",
                   "data": {"message_type": "payment.received",
                            "correlation_key": "order-{{ input.order }}"}},
                  {"id": "paid", "type": "Transform",
                   "data": {"template": "{{ nodes.reply.payload.amount }}"}}],
        "edges": [{"source": "reply", "target": "paid"}],
    }
    workflow = workflow_from(definition)
    first, _ = services.execution_start(workflow=workflow, input={"order": 1})
    second, _ = services.execution_start(workflow=workflow, input={"order": 2})
    for execution in (first, second):
        assert wait_for(execution, statuses=("waiting", "failed")).status == "waiting"

    # when the payment for order 1 arrives over AMQP
    publish("workflow.message", {"message_type": "payment.received",
                                 "correlation_key": "order-1", "payload": {"amount": 42}})

    # then only the first execution goes on, with the payload
    assert wait_for(first).output == {"paid": 42}
    assert first.bookmarks.get().resumed_by == "amqp"
    second.refresh_from_db()
    assert second.status == "waiting"


def test_the_events_api_publishes_an_event_that_starts_the_subscribers(client_for, operator,
                                                                        viewer):
    # given a subscriber of invoice.due
    workflow = simple("remind", events=["invoice.due"])

    # when an operator publishes the event over the API (a viewer may not)
    refused = client_for(viewer).post("/api/events", {"event": "invoice.due"}, format="json")
    response = client_for(operator).post(
        "/api/events", {"event": "invoice.due", "input": {"invoice": 3}}, format="json")

    # then it is accepted and the subscriber runs with its input
    assert refused.status_code == 403
    assert response.status_code == 202 and response.json()["message_id"]
    execution = wait_for(until(lambda: executions_of(workflow) and executions_of(workflow)[0]))
    assert execution.output == {"echo": {"invoice": 3}}
