"""Per-workflow concurrency: at most `settings.concurrency` executions run at once.

Admission (count the active executions, then start or queue) happens under a Redis lock
per workflow (redis-py's Lock: an owner token, so only its holder releases it, and an
expiry, so a crashed holder does not block the workflow forever). The count itself comes
from the database, the truth. What a start beyond the limit does is `settings.overlap`:
`queue` leaves it pending until a slot frees, `skip` refuses it (409), `allow` ignores
the limit. When an execution of a limited workflow ends, the oldest queued one starts
(`start.queue_advance`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

import redis
from django.conf import settings

from config.locks import lock_token
from executions.errors import AdmissionBusyError
from executions.models import EXECUTION_STARTED, Execution

LOCK_TIMEOUT = 30  # seconds a holder may keep the admission lock
LOCK_WAIT = 10  # seconds a start waits for it


@cache
def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5)


@contextmanager
def admission(workflow: Any, limit: int) -> Iterator[None]:
    """Hold the workflow's admission lock while deciding (no lock when unlimited)."""
    if limit <= 0:
        yield
        return
    lock = _redis().lock(f"weft:admission:{workflow.pk}", timeout=LOCK_TIMEOUT,
                         blocking_timeout=LOCK_WAIT)
    if not lock.acquire(token=lock_token()):
        raise AdmissionBusyError(
            f"Workflow {workflow} is busy admitting other executions; try again.",
            details={"retry_after": LOCK_WAIT},
        )
    try:
        yield
    finally:
        lock.release()


def active_count(workflow: Any) -> int:
    return Execution.objects.filter(workflow=workflow, parent__isnull=True,
                                    status__in=EXECUTION_STARTED).count()
