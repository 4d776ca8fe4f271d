"""The broker's queues as operators read them: per queue the messages waiting (ready), the
messages workers hold (unacknowledged), the consumers, and how long the oldest waiting
message has waited.

Every task message the platform publishes carries the AMQP `timestamp` property (set in
`config/celery.py` before publishing), which is what the age is computed from.

- RabbitMQ: its management HTTP API (`RABBITMQ_MANAGEMENT_URL`; by default the broker's
  host on port 15672 with the broker's credentials) gives all four per queue; RabbitMQ
  refreshes these figures every few seconds (`collect_statistics_interval`, 5 s by
  default). When the API cannot be reached, a passive declare on the AMQP connection still
  gives the ready count and the consumers; unacknowledged is then unknown (None), and so
  is the age unless no message waits (0), and `error` says why. The API counts a queue
  in rounds: whichever of its depth and consumers a round has not counted yet comes from
  the passive declare too.
- Redis (the embedded default): the length of the queue's lists (one per priority), the
  transport's `unacked` hash (bounded scan), and the timestamp of the oldest message at the
  tail of each list. Redis has no consumer registry: consumers are unknown (None).
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import httpx
from django.conf import settings
from kombu import Connection

logger = logging.getLogger(__name__)

MANAGEMENT_PORT = 15672
UNACKED_SCAN_MAX = 10_000  # entries of the Redis transport's `unacked` hash read at most


def platform_queues() -> list[str]:
    """The queues the platform's workers consume: the engine's, housekeeping, triggers and
    their dead letters."""
    names = [queue.name for queue in settings.CELERY_TASK_QUEUES]
    triggers = f"{settings.CELERY_TASK_DEFAULT_QUEUE}.triggers"
    return [*names, triggers, f"{triggers}.dead"]


def _blank(name: str) -> dict[str, Any]:
    return {"name": name, "ready": None, "unacked": None, "consumers": None,
            "oldest_age_seconds": None}


def _age(timestamp: Any, now: float) -> float | None:
    if isinstance(timestamp, int | float) and not isinstance(timestamp, bool):
        return round(max(now - float(timestamp), 0.0), 1)
    return None


# --- RabbitMQ ----------------------------------------------------------------------------------


def management_url(broker_url: str) -> tuple[str, str, tuple[str, str]]:
    """(API base URL, vhost, credentials) for the RabbitMQ broker at `broker_url`."""
    broker = urlsplit(broker_url)
    vhost = unquote(broker.path[1:]) if len(broker.path) > 1 else "/"
    credentials = (unquote(broker.username or "guest"), unquote(broker.password or "guest"))
    base = settings.RABBITMQ_MANAGEMENT_URL
    if not base:
        base = f"http://{broker.hostname or 'localhost'}:{MANAGEMENT_PORT}"
    return base.rstrip("/"), vhost, credentials


def _rabbitmq_management(broker_url: str, names: list[str]) -> list[dict[str, Any]]:
    base, vhost, credentials = management_url(broker_url)
    timeout = settings.BROKER_STATS_TIMEOUT
    now = time.time()
    figures = []
    with httpx.Client(auth=credentials, timeout=timeout) as client:
        for name in names:
            response = client.get(f"{base}/api/queues/{quote(vhost, safe='')}/"
                                  f"{quote(name, safe='')}")
            queue = _blank(name)
            if response.status_code == 404:
                queue["error"] = "no such queue"
                figures.append(queue)
                continue
            response.raise_for_status()
            data = response.json()
            queue.update(ready=data.get("messages_ready"),
                         unacked=data.get("messages_unacknowledged"),
                         consumers=data.get("consumers"))
            if queue["ready"]:
                queue["oldest_age_seconds"] = _age(data.get("head_message_timestamp"), now)
            elif queue["ready"] == 0:
                queue["oldest_age_seconds"] = 0.0
            figures.append(queue)
    # A queue declared a moment ago has no statistics yet (the management plugin collects
    # them every few seconds, and the depth and the consumers may arrive in different
    # rounds): what is missing of its depth and consumers comes from a passive declaration.
    fresh = [queue["name"] for queue in figures
             if None in (queue["ready"], queue["consumers"]) and "error" not in queue]
    if fresh:
        declared = {queue["name"]: queue for queue in _amqp_passive(
            broker_url, fresh, "the management API has no figures for this queue yet")}
        for queue in figures:
            if queue["name"] in declared:
                _fill(queue, declared[queue["name"]])
    return figures


def _fill(queue: dict[str, Any], declared: dict[str, Any]) -> None:
    """Completes `queue`'s missing figures with those of its passive declaration."""
    if queue["ready"] is None:
        queue.update(declared)
    elif queue["consumers"] is None:
        queue["consumers"] = declared["consumers"]


def _amqp_passive(broker_url: str, names: list[str], error: str) -> list[dict[str, Any]]:
    figures = []
    with Connection(broker_url, connect_timeout=settings.BROKER_STATS_TIMEOUT) as connection:
        for name in names:
            queue = _blank(name)
            queue["error"] = error
            channel = connection.channel()
            try:
                declared = channel.queue_declare(name, passive=True)
                queue.update(ready=declared.message_count, consumers=declared.consumer_count)
                if declared.message_count == 0:  # none waits: the age is known all the same
                    queue["oldest_age_seconds"] = 0.0
            except connection.channel_errors:  # no such queue (closes the channel)
                queue["error"] = "no such queue"
            finally:
                with contextlib.suppress(Exception):  # already closed by the broker
                    channel.close()
            figures.append(queue)
    return figures


# --- Redis -------------------------------------------------------------------------------------


def _redis_queues(broker_url: str, names: list[str]) -> list[dict[str, Any]]:
    options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    now = time.time()
    with Connection(broker_url, transport_options=options,
                    connect_timeout=settings.BROKER_STATS_TIMEOUT) as connection:
        channel = connection.default_channel
        client = channel.client
        keys = {name: _priority_keys(name, channel) for name in names}
        pipe = client.pipeline(transaction=False)
        for name in names:
            for key in keys[name]:
                pipe.llen(key)
                pipe.lindex(key, -1)  # messages are pushed on the left: the oldest is last
        replies = iter(pipe.execute())
        unacked = _redis_unacked(client, channel.unacked_key)
    figures = []
    for name in names:
        queue = _blank(name)
        ready, oldest = 0, None
        for _ in keys[name]:
            length, tail = next(replies), next(replies)
            ready += int(length or 0)
            stamp = _message_timestamp(tail)
            if stamp is not None and (oldest is None or stamp < oldest):
                oldest = stamp
        queue.update(ready=ready, unacked=unacked.get(name, 0),
                     oldest_age_seconds=0.0 if ready == 0 else _age(oldest, now))
        figures.append(queue)
    return figures


def _priority_keys(name: str, channel: Any) -> list[str]:
    """The lists of one queue: the transport keeps one per priority step (step 0 is the
    queue's own name)."""
    return [f"{name}{channel.sep}{step}" if step else name
            for step in sorted(set(channel.priority_steps))]


def _message_timestamp(raw: bytes | None) -> float | None:
    if not raw:
        return None
    try:
        return json.loads(raw).get("properties", {}).get("timestamp")
    except (ValueError, AttributeError):
        return None


def _redis_unacked(client: Any, key: str) -> dict[str, int]:
    """Messages delivered and not yet acknowledged, by the queue they came from."""
    counts: dict[str, int] = {}
    for seen, (_, raw) in enumerate(client.hscan_iter(key, count=500)):
        if seen >= UNACKED_SCAN_MAX:
            break
        try:
            message, _exchange, routing_key = json.loads(raw)
            queue = message["properties"]["delivery_info"].get("routing_key") or routing_key
        except (ValueError, KeyError, TypeError, AttributeError):
            continue
        counts[queue] = counts.get(queue, 0) + 1
    return counts


# --- reading -----------------------------------------------------------------------------------


def queues_read(*, broker_url: str | None = None, names: list[str] | None = None
                ) -> list[dict[str, Any]]:
    """Figures of each queue: `{name, ready, unacked, consumers, oldest_age_seconds}`, a
    value None when the broker cannot tell, and `error` when something could not be read.
    Never raises for a broker that is down: every queue then carries the error."""
    broker_url = broker_url or settings.CELERY_BROKER_URL
    names = names or platform_queues()
    scheme = urlsplit(broker_url).scheme
    try:
        if scheme in ("redis", "rediss"):
            return _redis_queues(broker_url, names)
        if scheme not in ("amqp", "amqps", "pyamqp"):
            raise ValueError(f"queue figures are not read from a {scheme!r} broker")
        try:
            return _rabbitmq_management(broker_url, names)
        except (httpx.HTTPError, ValueError) as exc:
            logger.warning("RabbitMQ's management API could not be read: %s", exc)
            return _amqp_passive(broker_url, names,
                                 f"management API unavailable ({type(exc).__name__}): "
                                 "ready and consumers only")
    except Exception as exc:  # noqa: BLE001 - a broker that is down is a figure, not a 500
        logger.warning("the broker's queues could not be read: %s", exc)
        return [{**_blank(name), "error": f"broker unavailable ({type(exc).__name__})"}
                for name in names]
