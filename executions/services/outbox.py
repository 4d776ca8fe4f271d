"""The transactional outbox of execution events, and its dispatcher.

`logs_write` turns every log entry into an `OutboxEvent` in the transaction of the change
it records, so an event exists if and only if the change committed. Beat runs the
dispatcher every second: it takes a batch of due events (`FOR UPDATE SKIP LOCKED` on
PostgreSQL, so two dispatchers never take the same event), publishes each to the
`workflow.events` topic exchange (routing key = the event name) and to the execution's
Channels group (`execution.<id>`, read by the live websocket), and marks it published.
A failed publish is retried with exponential backoff; after WORKFLOW_OUTBOX_MAX_ATTEMPTS
the event is dead, kept with its last error.

Delivery is at least once: a dispatcher that dies between publishing and committing
publishes the batch again. Consumers deduplicate by the message's `sequence`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from typing import Any

from asgiref.sync import async_to_sync
from celery import current_app
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection as db_connection
from django.db import transaction
from django.utils import timezone
from kombu import Connection, Exchange, Producer

from executions.models import ExecutionLog, OutboxEvent
from executions.store import event_payload
from monitoring import metrics

logger = logging.getLogger(__name__)

EVENTS_EXCHANGE = Exchange("workflow.events", type="topic", durable=True)
BATCH = 200
ROUNDS = 10  # batches per dispatcher run, so a backlog drains without waiting for beat
BACKOFF_INITIAL = 1.0  # seconds before the first retry of a failed publish
BACKOFF_MAX = 300.0
BROKER_CONNECT_TIMEOUT = 5.0


def execution_group(execution_id: Any) -> str:
    """The Channels group of an execution's live updates."""
    return f"execution.{execution_id}"


def outbox_event(entry: ExecutionLog) -> OutboxEvent:
    """The outbox event of a log entry (its payload: `store.event_payload`)."""
    return OutboxEvent(execution=entry.execution, event=entry.event, payload=event_payload(
        entry.execution, entry.event, entry.node_id, entry.data, timezone.now()))


def _message(event: OutboxEvent) -> dict[str, Any]:
    return {"sequence": event.pk, "event": event.event, **event.payload}


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(BACKOFF_MAX, BACKOFF_INITIAL * 2 ** (attempts - 1)))


@contextmanager
def _producer(connection: Connection | None) -> Iterator[Producer]:
    """A producer on the given broker connection, or one from the Celery app's pool."""
    if connection is not None:
        with connection.clone() as own:
            yield own.Producer()
        return
    app = current_app
    with app.producer_or_acquire() as producer:
        yield producer


def _due(batch: int, now: Any) -> list[OutboxEvent]:
    pending = OutboxEvent.objects.filter(
        published_at__isnull=True, dead=False, next_attempt_at__lte=now
    ).order_by("id")
    if db_connection.features.has_select_for_update_skip_locked:
        pending = pending.select_for_update(skip_locked=True)
    if db_connection.vendor == "postgresql":
        # Walk `outbox_pending_idx` in id order (a plain index scan): one that stops at the
        # batch and marks the entries of events published since as dead as it passes. The
        # planner, which counts those entries as live until a vacuum, would otherwise read
        # them all as a bitmap and sort, every batch (models.py). For this transaction only.
        with db_connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_bitmapscan = off")
    return list(pending[:batch])


def _live_send(messages: list[tuple[str, dict[str, Any]]]) -> None:
    """Send to the websocket groups, one `execution.events` message per group holding its
    events in order (the consumer sends each as its own frame): a group send costs Redis
    round trips whether anyone listens or not, and an execution's events come in bursts.
    Live updates are best effort (a client that missed one reconnects and gets a fresh
    snapshot), so a failure here is logged, not retried."""
    layer = get_channel_layer()
    if layer is None or not messages:
        return
    by_group: dict[str, list[dict[str, Any]]] = {}
    for group, message in messages:
        by_group.setdefault(group, []).append(message)

    async def send_all() -> None:
        for group, events in by_group.items():
            await layer.group_send(group, {"type": "execution.events", "messages": events})

    try:
        async_to_sync(send_all)()
    except Exception:  # noqa: BLE001 - the channel layer is down: the durable copy went out
        logger.exception("live updates of %d outbox event(s) were not sent", len(messages))


def _failed(events: list[OutboxEvent], error: str, now: Any) -> int:
    """Record a failed attempt of each event: retry later, or dead after the last one."""
    dead = 0
    for event in events:
        event.attempts += 1
        event.last_error = error[:2000]
        if event.attempts >= settings.WORKFLOW_OUTBOX_MAX_ATTEMPTS:
            event.dead = True
            dead += 1
        else:
            event.next_attempt_at = now + _backoff(event.attempts)
    OutboxEvent.objects.bulk_update(events, ["attempts", "last_error", "dead",
                                             "next_attempt_at"])
    metrics.outbox_observe(failed=len(events), dead=dead)
    return dead


def _unreachable(batch: int, error: str) -> dict[str, int]:
    """The broker cannot be reached: a failed attempt for each due event of a batch."""
    with transaction.atomic():
        events = _due(batch, timezone.now())
        if events:
            logger.warning("the broker is unreachable; %d outbox event(s) wait: %s",
                           len(events), error)
            return {"published": 0, "failed": len(events),
                    "dead": _failed(events, error, timezone.now())}
    return {"published": 0, "failed": 0, "dead": 0}


def _publish(batch: int, producer: Producer) -> dict[str, int]:
    """Publish one batch of due events on a connected producer, under the rows' locks."""
    with transaction.atomic():
        now = timezone.now()
        events = _due(batch, now)
        published: list[OutboxEvent] = []
        failed: list[OutboxEvent] = []
        error = ""
        for index, event in enumerate(events):
            try:
                if not index:  # once per batch (kombu remembers it per connection)
                    producer.maybe_declare(EVENTS_EXCHANGE, retry=False)
                producer.publish(
                    _message(event), exchange=EVENTS_EXCHANGE, routing_key=event.event,
                    serializer="json", delivery_mode=2, retry=False,
                    timestamp=int(time.time()),
                )
            except Exception as exc:  # noqa: BLE001 - retried with backoff, then dead
                error = f"{type(exc).__name__}: {exc}"
                failed = events[index:]  # the connection is unusable for the rest
                break
            published.append(event)
        if published:
            OutboxEvent.objects.filter(pk__in=[event.pk for event in published]).update(
                published_at=timezone.now(), last_error="")
            _live_send([(execution_group(event.execution_id), _message(event))
                        for event in published])
            metrics.outbox_observe(published=len(published))
        dead = 0
        if failed:
            logger.warning("publishing %d outbox event(s) failed: %s", len(failed), error)
            dead = _failed(failed, error, now)
    return {"published": len(published), "failed": len(failed), "dead": dead}


def _dispatch_batch(batch: int, connection: Connection | None) -> dict[str, int]:
    # Connect before taking the rows: an unreachable broker must not hold their locks
    # (on SQLite, the database's write lock) for the length of a connection timeout.
    with ExitStack() as stack:
        try:
            producer = stack.enter_context(_producer(connection))
            producer.connection.ensure_connection(
                max_retries=1, interval_start=0, timeout=BROKER_CONNECT_TIMEOUT)
        except Exception as exc:  # noqa: BLE001 - any failure to connect is retried later
            return _unreachable(batch, f"{type(exc).__name__}: {exc}")
        return _publish(batch, producer)


def outbox_dispatch(*, batch: int = BATCH, rounds: int = ROUNDS,
                    connection: Connection | None = None) -> dict[str, int]:
    """Publish due outbox events, batch by batch; returns how many were published, failed
    and died. `connection` is a broker connection to publish on (default: the Celery
    app's broker)."""
    totals = {"published": 0, "failed": 0, "dead": 0}
    for _ in range(rounds):
        counts = _dispatch_batch(batch, connection)
        for key, value in counts.items():
            totals[key] += value
        if counts["published"] + counts["failed"] < batch or counts["failed"]:
            break
    return totals
