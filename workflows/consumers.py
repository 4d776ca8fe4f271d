"""The AMQP trigger consumer: a Celery consumer bootstep that every worker runs.

It declares the `workflows` topic exchange and the durable queue `<CELERY_QUEUE>.triggers`
(bound by `workflow.trigger`, `workflow.event` and `workflow.message`) and hands each
message to `workflows.triggers.events.trigger_message_handle`. It only adapts:

- done (committed by the service) -> ack;
- the database is unavailable -> no ack; the message goes back to the queue after
  `REQUEUE_DELAY` seconds (at least once: it is tried again, by this or another worker);
- a message that can never succeed -> published to the `workflows.dead` exchange (queue
  `<CELERY_QUEUE>.triggers.dead`) with the reason in its headers, then acked. A bad message
  never stops the consumer.

Registered in `config/celery.py` (`app.steps["consumer"]`). The callback runs in the
worker's main process, on its event loop, so each message holds it for one short start.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from celery import bootsteps
from django.db import close_old_connections, connections
from kombu import Consumer, Message, Producer

from config.errors import ApplicationError
from workflows.triggers.events import (
    DEAD_EXCHANGE,
    TRANSIENT_ERRORS,
    EventErrorCode,
    TriggerMessageInvalidError,
    dead_letter_headers,
    dead_letter_queue,
    trigger_message_handle,
    trigger_queue,
    trigger_queue_name,
)

logger = logging.getLogger(__name__)

PREFETCH = 10
REQUEUE_DELAY = 5.0  # seconds a message waits after a transient failure before it is requeued


class TriggerConsumerStep(bootsteps.ConsumerStep):
    """Consumes the trigger queue on the worker's broker connection."""

    name = "weft.triggers"

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self.hub = None
        self.producer: Producer | None = None

    def start(self, c: Any) -> None:
        self.hub = getattr(c, "hub", None)
        super().start(c)
        logger.info("consuming trigger messages from %s", trigger_queue_name())

    def get_consumers(self, channel: Any) -> list[Consumer]:
        channel.basic_qos(0, PREFETCH, False)
        dead_letter_queue()(channel).declare()
        self.producer = Producer(channel)
        return [Consumer(channel, queues=[trigger_queue()], on_message=self.receive,
                         no_ack=False)]

    def receive(self, message: Message) -> None:
        """One message: hand it to the service, then ack, dead-letter or requeue it."""
        routing_key = (message.delivery_info or {}).get("routing_key", "")
        message_id = (message.properties or {}).get("message_id")
        close_old_connections()
        try:
            trigger_message_handle(routing_key=routing_key, body=message.body,
                                   message_id=message_id)
        except TRANSIENT_ERRORS as error:
            logger.warning("trigger message %s failed for now, requeued in %ss: %s",
                           routing_key, REQUEUE_DELAY, error)
            connections.close_all()
            self._requeue_later(message)
            return
        except ApplicationError as error:
            logger.warning("trigger message %s refused: %s: %s", routing_key, error.code,
                           error.message)
            self._dead_letter(message, error, routing_key, message_id)
            return
        except Exception as error:  # noqa: BLE001 - never stop consuming on one message
            logger.exception("trigger message %s failed", routing_key)
            self._dead_letter(message, TriggerMessageInvalidError(
                f"{type(error).__name__}: {error}", code=EventErrorCode.TRIGGER_FAILED,
            ), routing_key, message_id)
            return
        finally:
            close_old_connections()
        message.ack()

    def _dead_letter(self, message: Message, error: ApplicationError, routing_key: str,
                     message_id: str | None) -> None:
        headers = {**(message.headers or {}),
                   **dead_letter_headers(error=error, routing_key=routing_key,
                                         message_id=message_id)}
        try:
            self.producer.publish(
                message.body, exchange=DEAD_EXCHANGE, routing_key=trigger_queue_name(),
                headers=headers, content_type=message.content_type or "application/octet-stream",
                content_encoding=message.content_encoding or "binary", delivery_mode=2,
                timestamp=int(time.time()), retry=False,
            )
        except Exception as publish_error:  # noqa: BLE001 - kept unacked, tried again
            logger.warning("dead-lettering a trigger message failed: %s", publish_error)
            self._requeue_later(message)
            return
        message.ack()

    def _requeue_later(self, message: Message) -> None:
        def requeue() -> None:
            try:
                message.requeue()
            except Exception as error:  # noqa: BLE001 - the broker redelivers it anyway
                logger.warning("requeueing a trigger message failed: %s", error)

        if self.hub is not None:
            self.hub.call_later(REQUEUE_DELAY, requeue)
        else:  # no event loop (e.g. the solo pool): pause this consumer instead
            time.sleep(REQUEUE_DELAY)
            requeue()
