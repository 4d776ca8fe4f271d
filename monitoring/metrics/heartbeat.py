"""Which Celery workers are alive, without asking them at scrape time: the main process of
each worker writes a heartbeat to Redis every HEARTBEAT_SECONDS (its name, its pool
processes, the time), and `/metrics` counts the heartbeats younger than HEARTBEAT_TTL.

Celery's remote control (`inspect ping`) waits its whole timeout for replies, a second or
more per scrape whenever a worker is gone; a hash in Redis is one round trip."""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

logger = logging.getLogger(__name__)

HEARTBEATS_KEY = "weft:workers:heartbeats"
HEARTBEAT_SECONDS = 10
HEARTBEAT_TTL = 30  # seconds a heartbeat counts: three missed beats and the worker is gone
FORGET_AFTER = 86400  # a worker silent this long is removed from the hash

_stop = threading.Event()
_thread: list[threading.Thread] = []


def _client() -> Any:
    import redis
    from django.conf import settings

    # a client of its own: the pool processes forked from this one never share its socket
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)


def _processes(worker: Any) -> int:
    try:
        return int(worker.pool.num_processes)
    except (AttributeError, TypeError, ValueError):
        return int(getattr(worker, "concurrency", 0) or 0)


def heartbeat_start(worker: Any, hostname: str) -> None:
    """Beat for `worker` (a Celery WorkController) until `heartbeat_stop()`, in a thread of
    the worker's main process."""
    _stop.clear()

    def beat() -> None:
        client = _client()
        failing = False
        while True:
            try:
                client.hset(HEARTBEATS_KEY, hostname, json.dumps(
                    {"processes": _processes(worker), "at": time.time()}))
                failing = False
            except Exception as exc:  # noqa: BLE001 - Redis down: the worker shows as gone
                if not failing:  # once, until a beat gets through again
                    logger.warning("the worker's heartbeat could not be written: %s", exc)
                failing = True
            if _stop.wait(HEARTBEAT_SECONDS):
                break
        try:
            client.hdel(HEARTBEATS_KEY, hostname)
        except Exception as exc:  # noqa: BLE001 - the heartbeat expires by itself
            logger.info("the worker's heartbeat could not be removed (it expires in %s s): %s",
                        HEARTBEAT_TTL, exc)

    thread = threading.Thread(target=beat, name="weft-heartbeat", daemon=True)
    thread.start()
    _thread[:] = [thread]


def heartbeat_stop() -> None:
    """Stop beating and remove this worker's heartbeat (a worker shutting down)."""
    _stop.set()
    for thread in _thread:
        thread.join(timeout=5)
    _thread.clear()


def workers_alive(client: Any, now: float | None = None) -> list[dict[str, Any]]:
    """The heartbeats younger than HEARTBEAT_TTL, `{name, processes}` each; those silent
    for FORGET_AFTER are removed."""
    now = time.time() if now is None else now
    alive, forgotten = [], []
    for name, raw in client.hgetall(HEARTBEATS_KEY).items():
        try:
            beat = json.loads(raw)
            at, processes = float(beat["at"]), int(beat["processes"])
        except (ValueError, KeyError, TypeError):
            forgotten.append(name)
            continue
        if now - at <= HEARTBEAT_TTL:
            alive.append({"name": name.decode() if isinstance(name, bytes) else name,
                          "processes": processes})
        elif now - at > FORGET_AFTER:
            forgotten.append(name)
    if forgotten:
        client.hdel(HEARTBEATS_KEY, *forgotten)
    return alive
