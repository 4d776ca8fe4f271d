"""The trigger message service: what a `workflow.trigger`, `workflow.event` or
`workflow.message` body does, and the reason it gives for a message it refuses."""

from __future__ import annotations

import json

import pytest

from executions.models import Execution
from workflows.services import workflow_create
from workflows.triggers.events import (
    TriggerMessageInvalidError,
    dead_letter_headers,
    trigger_message_handle,
)

pytestmark = pytest.mark.django_db

GREETING_INPUTS = {"type": "object", "required": ["name"],
                   "properties": {"name": {"type": "string"}}}


def _workflow(name: str, *, namespace: str = "default", events=(), inputs=None,
              message: str = "hi", active: bool = True):
    definition = {
        "name": name, "namespace": namespace,
        "triggers": [{"event": event} for event in events],
        "nodes": [{"id": "log", "type": "Logger", "data": {"message": message}}],
    }
    if inputs is not None:
        definition["inputs"] = inputs
    workflow = workflow_create(definition=definition, actor=None)
    if not active:
        workflow.active = False
        workflow.save(update_fields=["active"])
    return workflow


def _handle(routing_key: str, body, message_id: str | None = None):
    raw = body if isinstance(body, bytes | str) else json.dumps(body).encode()
    return trigger_message_handle(routing_key=routing_key, body=raw, message_id=message_id)


def _refusal(routing_key: str, body) -> TriggerMessageInvalidError:
    with pytest.raises(TriggerMessageInvalidError) as raised:
        _handle(routing_key, body)
    return raised.value


def test_a_trigger_starts_the_workflow_named_by_name_namespace_or_id():
    # given a workflow in the default namespace and one in another
    plain = _workflow("greet")
    other = _workflow("report", namespace="sales")

    # when each is triggered by a different kind of reference
    by_name = _handle("workflow.trigger", {"workflow": "greet", "input": {"a": 1}})
    by_path = _handle("workflow.trigger", {"workflow": "sales/report"})
    by_id = _handle("workflow.trigger", {"workflow": str(plain.pk)})
    by_unique_name = _handle("workflow.trigger", {"workflow": "report"})

    # then each started its workflow's current version, marked as started by an event
    assert by_name.started[0].workflow == plain and by_name.started[0].input == {"a": 1}
    assert by_path.started[0].workflow == other and by_path.started[0].input == {}
    assert by_id.started[0].workflow == plain
    assert by_unique_name.started[0].workflow == other
    assert set(Execution.objects.values_list("trigger", flat=True)) == {"event"}
    assert by_name.outcome == "started"


def test_a_trigger_may_run_an_older_version():
    # given a workflow with two versions
    from workflows.services import workflow_update

    workflow = _workflow("greet", message="one")
    workflow_update(workflow=workflow, actor=None, definition={
        "name": "greet", "nodes": [{"id": "log", "type": "Logger", "data": {"message": "two"}}]})

    # when version 1 is asked for
    result = _handle("workflow.trigger", {"workflow": "greet", "version": 1})

    # then it runs version 1, not the current one
    assert result.started[0].version.number == 1


def test_the_same_idempotency_key_or_message_id_starts_one_execution():
    _workflow("greet")

    first = _handle("workflow.trigger", {"workflow": "greet", "idempotency_key": "k-1"})
    again = _handle("workflow.trigger", {"workflow": "greet", "idempotency_key": "k-1"})
    by_id = _handle("workflow.trigger", {"workflow": "greet"}, message_id="m-1")
    redelivered = _handle("workflow.trigger", {"workflow": "greet"}, message_id="m-1")

    assert again.started == first.started and again.outcome == "duplicate"
    assert redelivered.started == by_id.started and redelivered.outcome == "duplicate"
    assert Execution.objects.count() == 2


def test_an_event_starts_every_active_subscribed_workflow_once():
    # given two subscribers of order.created, one of another event and an inactive one
    first = _workflow("invoice", events=["order.created"])
    second = _workflow("ship", namespace="logistics", events=["order.created", "order.paid"])
    _workflow("refund", events=["order.cancelled"])
    _workflow("dormant", events=["order.created"], active=False)

    # when the event arrives twice with the same key
    result = _handle("workflow.event", {"event": "order.created", "input": {"order": 7},
                                        "idempotency_key": "order-7"})
    again = _handle("workflow.event", {"event": "order.created", "input": {"order": 7},
                                       "idempotency_key": "order-7"})

    # then both subscribers started once, with the event's input
    assert {execution.workflow for execution in result.started} == {first, second}
    assert again.outcome == "duplicate"
    assert Execution.objects.count() == 2
    assert set(Execution.objects.values_list("idempotency_key", flat=True)) == {
        f"event:order-7:{first.pk}", f"event:order-7:{second.pk}"}
    assert all(execution.input == {"order": 7} for execution in Execution.objects.all())


def test_an_event_without_a_key_is_deduplicated_by_its_message_id():
    _workflow("invoice", events=["order.created"])

    _handle("workflow.event", {"event": "order.created"}, message_id="abc")
    _handle("workflow.event", {"event": "order.created"}, message_id="abc")
    _handle("workflow.event", {"event": "order.created"}, message_id="def")

    assert Execution.objects.count() == 2


def test_an_event_nobody_subscribes_to_starts_nothing():
    result = _handle("workflow.event", {"event": "nobody.listens"})

    assert result.outcome == "unmatched" and not Execution.objects.exists()


def test_a_message_without_a_waiting_execution_resumes_nothing():
    result = _handle("workflow.message", {"message_type": "payment.received",
                                          "correlation_key": "order-1"})

    assert result.outcome == "unmatched" and result.resumed == []


@pytest.mark.parametrize(("routing_key", "body", "code", "field"), [
    ("workflow.trigger", b"{not json", "malformed_message", None),
    ("workflow.trigger", b"\xff\xfe", "malformed_message", None),
    ("workflow.trigger", [1, 2], "malformed_message", None),
    ("workflow.trigger", {"input": {}}, "malformed_message", "workflow"),
    ("workflow.trigger", {"workflow": 5}, "malformed_message", "workflow"),
    ("workflow.trigger", {"workflow": "missing"}, "workflow_not_found", "workflow"),
    ("workflow.trigger", {"workflow": "00000000-0000-0000-0000-000000000000"},
     "workflow_not_found", "workflow"),
    ("workflow.trigger", {"workflow": "greet", "version": 9}, "version_not_found", "version"),
    ("workflow.trigger", {"workflow": "greet", "version": "1"}, "malformed_message",
     "version"),
    ("workflow.trigger", {"workflow": "greet", "input": [1]}, "malformed_message", "input"),
    ("workflow.trigger", {"workflow": "greet", "input": {"name": 3}},
     "invalid_execution_input", "name"),
    ("workflow.trigger", {"workflow": "greet", "idempotency_key": "k" * 201},
     "malformed_message", "idempotency_key"),
    ("workflow.event", {"event": "bad event!"}, "malformed_message", "event"),
    ("workflow.event", {"event": "greeting\n"}, "malformed_message", "event"),
    ("workflow.event", {"event": "greeting", "input": {}}, "invalid_execution_input", None),
    ("workflow.message", {"message_type": "paid"}, "malformed_message", "correlation_key"),
    ("workflow.other", {"workflow": "greet"}, "unknown_routing_key", None),
])
def test_a_malformed_message_is_refused_with_a_reason(routing_key, body, code, field):
    # given a workflow whose input needs a name, subscribed to "greeting"
    _workflow("greet", inputs=GREETING_INPUTS, events=["greeting"])

    # when the message is handled
    error = _refusal(routing_key, body)

    # then it is refused with a code and a message naming the field, and nothing started
    assert error.code == code
    if field:
        assert field in json.dumps(error.details) or field in error.message
    assert not Execution.objects.exists()


def test_an_inactive_workflow_is_refused():
    _workflow("greet", active=False)

    assert _refusal("workflow.trigger", {"workflow": "greet"}).code == "workflow_inactive"


def test_a_name_in_several_namespaces_must_be_qualified():
    _workflow("greet", namespace="a")
    _workflow("greet", namespace="b")

    error = _refusal("workflow.trigger", {"workflow": "greet"})

    assert error.code == "workflow_not_found" and "namespace/name" in error.message


def test_dead_letter_headers_carry_the_reason_and_the_origin():
    error = TriggerMessageInvalidError("No workflow is named 'x'.", code="workflow_not_found",
                                       details={"fields": {"workflow": ["No workflow"]}})

    headers = dead_letter_headers(error=error, routing_key="workflow.trigger", message_id="m")

    assert headers["x-weft-error"] == "workflow_not_found: No workflow is named 'x'."
    assert headers["x-weft-error-code"] == "workflow_not_found"
    assert headers["x-weft-routing-key"] == "workflow.trigger"
    assert headers["x-weft-message-id"] == "m"
    assert json.loads(headers["x-weft-error-details"]) == error.details


def test_the_events_api_names_the_bad_field(client_for, operator, anonymous):
    response = client_for(operator).post("/api/events", {"event": "no spaces", "input": [1]},
                                         format="json")

    assert response.status_code == 400
    assert set(response.json()["details"]["fields"]) == {"event", "input"}
    assert anonymous.post("/api/events", {"event": "a"}, format="json").status_code == 401
