"""Celery tasks of the engine: thin adapters around the services."""

import time

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

from executions import services
from executions.services import children, cleanup, dependents, housekeeping, start, waits
from executions.services.nodes import HandOn
from executions.services.transitions import attempt_lease

DATABASE_RETRIES = 60  # about five minutes of a database outage


@shared_task(
    bind=True,
    name="executions.node_run",
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=None,
    ignore_result=True,
)
def node_run(self, execution_id: str, node_id: str) -> None:
    """Run one attempt of one node; idempotent, so a redelivery changes nothing twice.

    Its result is not stored (`ignore_result`): the outcome is in the database, and no
    part of the engine waits on a Celery result, so a result backend write per step
    would buy nothing.

    A short retry delay is left to the broker (a countdown); a longer one is kept in the
    database and dispatched by the sweeper when due, because brokers are not timers
    (RabbitMQ's consumer timeout, Redis's visibility timeout).
    """
    redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
    # The message carries the node's timeout as its soft time limit (`nodes_publish`), so
    # the claim can take its lease without reading the plan first.
    soft_limit = (self.request.timelimit or (None, None))[1]
    window = settings.WORKFLOW_HAND_ON_MS / 1000
    # Successors run in this task only where its time limit leaves them nearly all of
    # their own (`HandOn`): at least ten times the window.
    hand_on = HandOn(steps=settings.WORKFLOW_HAND_ON_STEPS, until=time.monotonic() + window,
                     limit=float(soft_limit)) if (
        soft_limit and settings.WORKFLOW_HAND_ON_STEPS > 0 and float(soft_limit) >= 10 * window
    ) else None
    try:
        delay = services.node_run(
            execution_id=execution_id, node_id=node_id, redelivered=redelivered,
            lease=attempt_lease(float(soft_limit)) if soft_limit else None, hand_on=hand_on)
    except (OperationalError, InterfaceError) as exc:
        # The database is unreachable: send the step again shortly (1, 2, 4, 5, 5... s)
        # rather than dropping it until the sweeper's resend; a step that had claimed its
        # node is taken over by the lease as usual. After DATABASE_RETRIES tries, the task
        # fails and the sweeper is the safety net.
        raise self.retry(exc=exc, countdown=min(2 ** self.request.retries, 5),
                         max_retries=DATABASE_RETRIES) from None
    if delay is not None and delay <= settings.WORKFLOW_RETRY_COUNTDOWN_MAX:
        raise self.retry(countdown=delay)


@shared_task(name="executions.housekeeping", ignore_result=True, send_events=False)
def housekeeping_tick() -> dict[str, dict[str, int]]:
    """Beat, every second, on the housekeeping queue: due schedules, timers and timeouts,
    the outbox, and the sweeper every few seconds. Celery's per-task log lines for it are
    at DEBUG (config/celery.py), so an idle platform logs nothing; it sends no task events,
    so Flower lists the workflows' tasks only."""
    return housekeeping.housekeeping_tick()


@shared_task(name="executions.timers_resume", ignore_result=True)
def timers_resume(bookmark_ids: list[int]) -> int:
    """A batch of due bookmarks: resume each timer, expire each timed-out wait, once."""
    return waits.timers_resume(bookmark_ids=bookmark_ids)


@shared_task(name="executions.child_settle", acks_late=True, reject_on_worker_lost=True,
             ignore_result=True)
def child_settle(child_id: str) -> None:
    """A child execution ended: record it with its parent and go on."""
    children.child_settle(child_id=child_id)


@shared_task(name="executions.queue_advance", acks_late=True, ignore_result=True)
def queue_advance(workflow_id: str) -> None:
    """An execution of a concurrency-limited workflow ended: start the next queued one."""
    start.queue_advance(workflow_id=workflow_id)


@shared_task(name="executions.dependents_notify", acks_late=True, reject_on_worker_lost=True,
             ignore_result=True)
def dependents_notify(execution_id: str) -> None:
    """A top-level execution ended and workflows depend on it: tell them, once."""
    dependents.dependents_settle(execution_id=execution_id)


@shared_task(name="executions.cleanup", ignore_result=True)
def executions_cleanup() -> dict[str, int]:
    """Beat, daily: delete finished executions, log entries and outbox events past retention."""
    return cleanup.executions_cleanup()
