"""The raw Celery baseline's no-op tasks, registered on the platform's own Celery app.

Benchmark workers import this module with `celery -A config worker -I bench.tasks`, so
`config/celery.py` stays as it is. The tasks are routed to `<CELERY_QUEUE>.raw`, a queue of
the same shape as the engine's (Celery declares it with the same `x-max-priority`, on the
same broker, consumed by the same worker processes); a separate name only keeps a worker
that does not import this module (a test session's worker on the same queue) from taking
a baseline message it cannot run.
"""

from __future__ import annotations

import time
from typing import Any

from celery.canvas import Signature
from django.conf import settings

from config.celery import app

RAW_QUEUE = f"{settings.CELERY_TASK_DEFAULT_QUEUE}.raw"


def raw(signature: Signature) -> Signature:
    """The signature, routed to the baseline's queue (every canvas member goes through it)."""
    return signature.set(queue=RAW_QUEUE)


@app.task(name="bench.noop")
def noop(value: Any = None) -> Any:
    """Return the input: one step of a chain, a chord's header member."""
    return value


@app.task(name="bench.stamp")
def stamp() -> float:
    """The first step of a latency chain: the wall-clock time it ran, passed down the chain."""
    return time.time()


@app.task(name="bench.join")
def join(values: list[Any]) -> int:
    """A chord's callback: how many results it joined."""
    return len(values)
