"""AMQP triggers: messages on the `workflows` topic exchange start workflows or resume waits.

Every Celery worker consumes the queue `<CELERY_QUEUE>.triggers` (see
`workflows.consumers`) and hands each message to `trigger_message_handle`, which decides
what it means by its routing key:

- `workflow.trigger` `{workflow, version?, input?, idempotency_key?}` starts one workflow;
- `workflow.event` `{event, input?, idempotency_key?}` starts every active workflow whose
  current definition lists `triggers: [{event: <name>}]`;
- `workflow.message` `{message_type, correlation_key, payload?}` resumes the WaitForMessage
  waits with that key, as `POST /api/messages` does.

Delivery is at least once, so a start is made idempotent by the body's idempotency key or,
without one, by the AMQP `message_id`: a redelivered message starts nothing twice. A message
that can never succeed raises `TriggerMessageInvalidError` (the consumer dead-letters it
with the reason); a database that is unavailable raises the database's own error (the
consumer puts the message back and tries again).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError
from kombu import Exchange, Queue, binding
from rest_framework import status

from config.errors import ApplicationError
from config.parsers import JsonLimitError, json_loads
from executions.errors import AdmissionBusyError, ConcurrencyLimitError
from workflows.models import EVENT_NAME, EventSubscription, Workflow, WorkflowVersion

logger = logging.getLogger(__name__)

TRIGGER = "workflow.trigger"
EVENT = "workflow.event"
MESSAGE = "workflow.message"
ROUTING_KEYS = (TRIGGER, EVENT, MESSAGE)

EXCHANGE = Exchange("workflows", type="topic", durable=True)
DEAD_EXCHANGE = Exchange("workflows.dead", type="topic", durable=True)

EVENT_PATTERN = EVENT_NAME
NAME_MAX = 200
KEY_MAX = 150  # an execution's idempotency key holds 200: "event:<key>:<workflow uuid>"
CORRELATION_MAX = 1000
BY = "amqp"

# Errors that say "not now" rather than "never": the message goes back to the queue.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OperationalError, InterfaceError, AdmissionBusyError,
)


class EventErrorCode(StrEnum):
    MALFORMED_MESSAGE = "malformed_message"
    UNKNOWN_ROUTING_KEY = "unknown_routing_key"
    WORKFLOW_NOT_FOUND = "workflow_not_found"
    VERSION_NOT_FOUND = "version_not_found"
    TRIGGER_FAILED = "trigger_failed"
    BROKER_UNAVAILABLE = "broker_unavailable"


class TriggerMessageInvalidError(ApplicationError):
    """A trigger message that can never succeed; it is dead-lettered with this reason."""

    code = EventErrorCode.MALFORMED_MESSAGE


class BrokerUnavailableError(ApplicationError):
    """The broker did not take the message; publishing may be tried again."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    code = EventErrorCode.BROKER_UNAVAILABLE


@dataclass
class TriggerResult:
    """What a trigger message did: `started` executions (with `duplicates` among them, which
    an earlier delivery had started), `skipped` workflows (overlap: skip) and `resumed`
    bookmarks."""

    routing_key: str
    started: list[Any] = field(default_factory=list)
    duplicates: list[Any] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    resumed: list[int] = field(default_factory=list)

    @property
    def outcome(self) -> str:
        if self.routing_key == MESSAGE:
            return "resumed" if self.resumed else "unmatched"
        if len(self.duplicates) == len(self.started) and self.started:
            return "duplicate"
        if self.started:
            return "started"
        return "skipped" if self.skipped else "unmatched"

    def as_dict(self) -> dict[str, Any]:
        return {"outcome": self.outcome,
                "executions": [str(execution.pk) for execution in self.started],
                "duplicates": [str(execution.pk) for execution in self.duplicates],
                "skipped": self.skipped, "resumed": self.resumed}


def trigger_queue_name() -> str:
    """The queue every worker of this deployment consumes trigger messages from."""
    return f"{settings.CELERY_TASK_DEFAULT_QUEUE}.triggers"


def trigger_queue() -> Queue:
    """The durable trigger queue, bound to the `workflows` exchange by each routing key."""
    return Queue(trigger_queue_name(), exchange=EXCHANGE, durable=True,
                 bindings=[binding(EXCHANGE, routing_key=key) for key in ROUTING_KEYS])


def dead_letter_queue() -> Queue:
    """Where malformed trigger messages go, with the reason in their headers. Its binding
    key is the trigger queue's name, so deployments sharing a broker keep theirs apart."""
    return Queue(f"{trigger_queue_name()}.dead", exchange=DEAD_EXCHANGE, durable=True,
                 routing_key=trigger_queue_name())


def dead_letter_headers(*, error: ApplicationError, routing_key: str,
                        message_id: str | None) -> dict[str, str]:
    """The headers a dead letter carries: why it was refused and where it came from."""
    headers = {
        "x-weft-error": f"{error.code}: {error.message}",
        "x-weft-error-code": str(error.code),
        "x-weft-routing-key": routing_key or "",
    }
    if error.details:
        headers["x-weft-error-details"] = json.dumps(error.details, default=str)[:4000]
    if message_id:
        headers["x-weft-message-id"] = str(message_id)
    return headers


def _invalid(message: str, field_name: str | None = None,
             code: str = EventErrorCode.MALFORMED_MESSAGE,
             **details: Any) -> TriggerMessageInvalidError:
    if field_name:
        details["fields"] = {field_name: [message]}
    return TriggerMessageInvalidError(message, code=code, details=details)


def _parse(body: Any) -> dict[str, Any]:
    if isinstance(body, bytes | bytearray | memoryview):
        try:
            body = bytes(body).decode("utf-8")
        except UnicodeDecodeError:
            raise _invalid("The body is not UTF-8 text; send a JSON object.") from None
    if isinstance(body, str):
        try:
            body = json_loads(body)
        except JsonLimitError as error:
            raise _invalid(f"The body is not JSON: {error.message}") from None
    if not isinstance(body, dict):
        raise _invalid(f"The body must be a JSON object, not {type(body).__name__}.")
    return body


def _string(body: dict[str, Any], name: str, *, required: bool = True,
            max_length: int = NAME_MAX, pattern: re.Pattern | None = None) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise _invalid(f"'{name}' is required and must be a non-empty string.", name)
    if len(value) > max_length:
        raise _invalid(f"'{name}' is longer than {max_length} characters.", name)
    if pattern is not None and not pattern.match(value):
        raise _invalid(f"'{name}' may hold only letters, digits, '_', '.', ':' and '-'.", name)
    return value


def _input(body: dict[str, Any]) -> dict[str, Any]:
    value = body.get("input")
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _invalid("'input' must be a JSON object.", "input")
    return value


def _dedup_key(body: dict[str, Any], message_id: str | None) -> str | None:
    """The body's idempotency key, else the AMQP message id (hashed when long)."""
    key = _string(body, "idempotency_key", required=False, max_length=KEY_MAX)
    if key:
        return key
    if not message_id:
        return None
    message_id = str(message_id)
    if len(message_id) > KEY_MAX:
        return "sha256:" + hashlib.sha256(message_id.encode()).hexdigest()
    return message_id


def workflow_resolve(*, reference: str) -> Workflow:
    """A workflow by id, `namespace/name` or a bare name (the `default` namespace first,
    else the one namespace that has it)."""
    workflows = Workflow.objects.select_related("current_version")
    try:
        return workflows.get(pk=uuid.UUID(reference))
    except ValueError:
        pass
    except Workflow.DoesNotExist:
        raise _invalid(f"No workflow has the id {reference}.", "workflow",
                       code=EventErrorCode.WORKFLOW_NOT_FOUND) from None
    if "/" in reference:
        namespace, _, name = reference.partition("/")
        found = workflows.filter(namespace=namespace, name=name).first()
    else:
        found = workflows.filter(namespace="default", name=reference).first()
        if found is None:
            named = list(workflows.filter(name=reference)[:2])
            if len(named) > 1:
                raise _invalid(
                    f"Several namespaces have a workflow named '{reference}'; "
                    "name it as namespace/name.", "workflow",
                    code=EventErrorCode.WORKFLOW_NOT_FOUND)
            found = named[0] if named else None
    if found is None:
        raise _invalid(f"No workflow is named '{reference}'.", "workflow",
                       code=EventErrorCode.WORKFLOW_NOT_FOUND)
    return found


def _version(workflow: Workflow, value: Any) -> WorkflowVersion | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _invalid("'version' must be a positive integer.", "version")
    found = workflow.versions.filter(number=value).first()
    if found is None:
        raise _invalid(f"Workflow {workflow} has no version {value}.", "version",
                       code=EventErrorCode.VERSION_NOT_FOUND)
    return found


def _start(result: TriggerResult, *, workflow: Workflow, version: WorkflowVersion | None,
           input: dict[str, Any], idempotency_key: str | None) -> None:  # noqa: A002
    from executions.services.start import execution_start

    try:
        execution, created = execution_start(
            workflow=workflow, version=version, input=input, idempotency_key=idempotency_key,
            trigger="event",
        )
    except ConcurrencyLimitError:
        result.skipped.append(str(workflow.pk))
        return
    result.started.append(execution)
    if not created:
        result.duplicates.append(execution)


def _trigger(body: dict[str, Any], message_id: str | None) -> TriggerResult:
    reference = _string(body, "workflow", max_length=NAME_MAX + 101)
    workflow = workflow_resolve(reference=reference)
    version = _version(workflow, body.get("version"))
    key = _string(body, "idempotency_key", required=False)
    if not key and message_id:
        key = f"trigger:{_dedup_key({}, message_id)}:{workflow.pk}"
    result = TriggerResult(TRIGGER)
    try:
        _start(result, workflow=workflow, version=version, input=_input(body),
               idempotency_key=key)
    except ApplicationError as error:
        if isinstance(error, TRANSIENT_ERRORS):
            raise
        raise TriggerMessageInvalidError(error.message, code=error.code,
                                         details={**error.details,
                                                  "workflow": str(workflow.pk)}) from None
    return result


def _event(body: dict[str, Any], message_id: str | None) -> TriggerResult:
    event = _string(body, "event", pattern=EVENT_PATTERN)
    input_ = _input(body)
    key = _dedup_key(body, message_id)
    subscribed = Workflow.objects.filter(
        pk__in=EventSubscription.objects.filter(event=event).values("workflow"), active=True,
    ).select_related("current_version").order_by("namespace", "name")
    result = TriggerResult(EVENT)
    refused: dict[str, dict[str, Any]] = {}
    for workflow in subscribed:
        try:
            _start(result, workflow=workflow, version=None, input=input_,
                   idempotency_key=f"event:{key}:{workflow.pk}" if key else None)
        except ApplicationError as error:
            if isinstance(error, TRANSIENT_ERRORS):
                raise
            refused[f"{workflow.namespace}/{workflow.name}"] = error.as_dict()
    if refused:
        # The others started; a replay of the dead letter starts only the refused ones
        # when the message has a key (the started ones are deduplicated by it).
        first = next(iter(refused))
        raise TriggerMessageInvalidError(
            f"Event '{event}' did not start {len(refused)} subscribed workflow(s); "
            f"{first}: {refused[first]['message']}",
            code=refused[first]["code"],
            details={"refused": refused, "started": result.as_dict()["executions"]},
        )
    return result


def _message(body: dict[str, Any]) -> TriggerResult:
    from executions.services.waits import message_deliver

    message_type = _string(body, "message_type", pattern=EVENT_PATTERN)
    correlation_key = _string(body, "correlation_key", max_length=CORRELATION_MAX)
    payload = body.get("payload", {})
    result = TriggerResult(MESSAGE)
    try:
        resumed = message_deliver(message_type=message_type, correlation_key=correlation_key,
                                  payload=payload if payload is not None else {}, by=BY)
    except ApplicationError as error:
        if isinstance(error, TRANSIENT_ERRORS):
            raise
        raise TriggerMessageInvalidError(error.message, code=error.code,
                                         details=error.details) from None
    result.resumed = [bookmark.pk for bookmark in resumed]
    return result


def trigger_message_handle(*, routing_key: str, body: Any,
                           message_id: str | None = None) -> TriggerResult:
    """Act on one trigger message; each start or resume commits on its own.

    Raises `TriggerMessageInvalidError` for a message that can never succeed (not JSON,
    missing or wrong fields, unknown workflow or version, input failing the inputs schema,
    unknown routing key) and one of `TRANSIENT_ERRORS` when it may succeed later.
    """
    if routing_key not in ROUTING_KEYS:
        raise _invalid(f"Unknown routing key '{routing_key}'; use one of "
                       f"{', '.join(ROUTING_KEYS)}.", code=EventErrorCode.UNKNOWN_ROUTING_KEY)
    document = _parse(body)
    if routing_key == TRIGGER:
        result = _trigger(document, message_id)
    elif routing_key == EVENT:
        result = _event(document, message_id)
    else:
        result = _message(document)
    logger.info("trigger message %s: %s", routing_key, result.outcome,
                extra={"routing_key": routing_key, "message_id": message_id,
                       **result.as_dict()})
    return result


def event_publish(*, event: str, input: dict[str, Any] | None = None,  # noqa: A002
                  idempotency_key: str | None = None) -> str:
    """Publish a named event on the `workflows` exchange; returns its message id.

    Every worker's trigger consumer starts the workflows subscribed to it. Without an
    idempotency key, the message id deduplicates redeliveries of this one message.
    """
    body: dict[str, Any] = {"event": event, "input": input or {}}
    if idempotency_key:
        body["idempotency_key"] = idempotency_key
    _string(body, "event", pattern=EVENT_PATTERN)
    _dedup_key(body, None)
    return _publish(routing_key=EVENT, body=body)


def _publish(*, routing_key: str, body: dict[str, Any]) -> str:
    from config.celery import app

    message_id = uuid.uuid4().hex
    try:
        with app.producer_or_acquire() as producer:
            producer.publish(
                body, exchange=EXCHANGE, routing_key=routing_key, declare=[EXCHANGE],
                serializer="json", delivery_mode=2, message_id=message_id,
                timestamp=int(time.time()),  # the queue's oldest-message age (monitoring)
                retry=True, retry_policy={"max_retries": 2, "interval_start": 0.2,
                                          "interval_step": 0.5, "interval_max": 1},
            )
    except Exception as error:  # noqa: BLE001 - any broker failure is a 503 to the caller
        logger.warning("publishing %s failed: %s", routing_key, error)
        raise BrokerUnavailableError(
            "The message broker did not take the event; try again shortly.",
            details={"retry_after": 5},
        ) from None
    return message_id
