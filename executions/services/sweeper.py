"""The sweeper: nothing stays stuck "running" after a worker, a broker or a message is lost.

Run by beat every few seconds. Each repair takes the execution's row lock and re-checks
the row it acts on, so two sweepers (or a sweeper racing a worker) repair each thing once.

- A running attempt whose lease expired (its worker died and the message is gone) is sent
  again, or failed when its attempts are spent.
- A retry kept in the database is sent when due (and a short one whose broker countdown
  was lost, late).
- A node sent but never taken for WORKFLOW_DISPATCH_RESEND_AFTER seconds is sent again.
  While the engine's queue holds messages no worker has taken yet, only if the workers
  have got past it: a node sent that long before the latest node they took. Otherwise
  its message is most likely among those queued (a backlog, not a loss), and a copy
  would only join the back of the queue, double the backlog and, the longer the
  backlog, the more copies: a flood.
- An execution past its deadline (`settings.timeout`) fails with a timeout fault.
- A workflow with executions queued (concurrency) for as long gets its free slots filled.

Sending a node twice is harmless: a node run is claimed by a conditional update.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from amqp.exceptions import ChannelError
from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from executions.models import (
    EXECUTION_ADVANCING,
    Execution,
    ExecutionStatus,
    NodeExecution,
    NodeStatus,
)
from executions.plan import execution_plan
from executions.services.children import child_settle
from executions.services.dependents import dependents_settle
from executions.services.flow import execution_fail, node_failed_finally
from executions.services.start import queue_advance
from executions.services.transitions import log_entry, logs_write, nodes_dispatch
from executions.store import node_move
from monitoring import metrics
from workflows.nodes.faults import FatalFault, TimeoutFault

BATCH = 500
COUNTDOWN_LATE = timedelta(seconds=30)
# Statuses of a node whose message a worker took (a retrying node's `dispatched_at` is its
# due time, and a cancelled one may never have been taken).
TAKEN = (NodeStatus.RUNNING, NodeStatus.WAITING, NodeStatus.COMPLETED, NodeStatus.FAILED)

logger = logging.getLogger(__name__)


def queue_backlog() -> int | None:
    """Messages waiting in the engine's queue, not yet taken by a worker (None when the
    broker does not answer: the resends then go ahead as they would have). A queue the
    broker does not know holds nothing (the Redis transport keeps no empty queue)."""
    app = current_app
    try:
        with app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1)
            declared = connection.default_channel.queue_declare(
                settings.CELERY_TASK_DEFAULT_QUEUE, passive=True)
    except ChannelError as error:
        if str(error.reply_code) == "404":  # no such queue, e.g. an empty list on Redis
            return 0
        logger.warning("sweeper: the engine queue's depth is unknown", exc_info=True)
        return None
    except Exception:  # noqa: BLE001 - any broker error: do not hold the resends back
        logger.warning("sweeper: the engine queue's depth is unknown", exc_info=True)
        return None
    return declared.message_count


def _taken_until() -> Any:
    """The latest time a node was sent whose message a worker has since taken (the node
    is running, waiting or finished), or None. The queue is taken in the order it was
    filled, so a node sent well before that and still not taken has lost its message,
    while one sent after it is most likely still queued. Each status is one backward
    step of `node_execution_dispatch_idx`."""
    latest = [NodeExecution.objects.filter(status=status, dispatched_at__isnull=False)
              .aggregate(latest=Max("dispatched_at"))["latest"] for status in TAKEN]
    return max((sent for sent in latest if sent is not None), default=None)


def _locked_running(execution_id: Any) -> Execution | None:
    execution = Execution.objects.select_for_update(of=("self",)).select_related(
        "version", "workflow").get(pk=execution_id)
    return execution if execution.status == ExecutionStatus.RUNNING else None


def _resend(row_id: int, expected: Q) -> bool:
    """Send a node again if, under the lock, it still is as the sweep saw it."""
    with transaction.atomic():
        row = NodeExecution.objects.get(pk=row_id)
        execution = _locked_running(row.execution_id)
        if execution is None or not NodeExecution.objects.filter(expected, pk=row_id).exists():
            return False
        logs_write([log_entry(execution, "node.resent", node_id=row.node_id, level="warning",
                  data={"status": row.status, "attempt": row.attempt})])
        nodes_dispatch(execution, execution_plan(execution), [row.node_id])
        return True


def _lost(row_id: int, now: Any) -> bool:
    """A running attempt whose lease expired: send it again, or fail it when spent."""
    expired = Q(status=NodeStatus.RUNNING, lease_expires_at__lt=now)
    with transaction.atomic():
        row = NodeExecution.objects.get(pk=row_id)
        execution = _locked_running(row.execution_id)
        if execution is None or not NodeExecution.objects.filter(expired, pk=row_id).exists():
            return False
        plan = execution_plan(execution)
        if plan.retry[row.node_id].retries(row.attempt, retryable=True):
            logs_write([log_entry(execution, "node.lost", node_id=row.node_id, level="warning",
                      data={"attempt": row.attempt})])
            nodes_dispatch(execution, plan, [row.node_id])
            return True
        error = FatalFault(
            f"Node '{row.node_id}' was lost with its worker on its last attempt "
            f"({row.attempt})."
        ).as_dict()
        node_move(NodeExecution.objects.filter(pk=row_id), NodeStatus.FAILED,
                  error=error, finished_at=now, lease_expires_at=None)
        logs_write([log_entry(execution, "node.failed", node_id=row.node_id, level="error",
                  message=error["message"], data=error)])
        node_failed_finally(execution, plan, row.node_id, error)
        return True


def _overdue(execution_id: Any, now: Any) -> bool:
    with transaction.atomic():
        execution = Execution.objects.select_for_update(of=("self",)).get(pk=execution_id)
        if execution.status not in EXECUTION_ADVANCING or execution.compensation is not None or (
            execution.deadline is None or execution.deadline >= now
        ):
            return False
        execution_fail(execution, TimeoutFault(
            "The execution ran longer than its workflow's timeout."
        ).as_dict())
        return True


def sweep(*, now: Any = None, batch: int = BATCH) -> dict[str, int]:
    """One pass of every repair; returns how many of each it made."""
    now = now or timezone.now()
    running = Q(execution__status=ExecutionStatus.RUNNING)
    # Each batch is taken in the order of its index (oldest first), not the models' default
    # ordering, which sorts every match by its execution's creation before the limit.
    lost = NodeExecution.objects.filter(
        running, status=NodeStatus.RUNNING, lease_expires_at__lt=now
    ).order_by("lease_expires_at").values_list("pk", flat=True)[:batch]
    due_retry = Q(status=NodeStatus.RETRYING, retry_at__lte=now) & (
        Q(dispatched_at__isnull=True) | Q(dispatched_at__lte=now - COUNTDOWN_LATE))
    retries = NodeExecution.objects.filter(running, due_retry).order_by("retry_at").values_list(
        "pk", flat=True)[:batch]
    resend_after = timedelta(seconds=settings.WORKFLOW_DISPATCH_RESEND_AFTER)
    unsent = Q(status=NodeStatus.PENDING, dispatched_at__lte=now - resend_after)
    stale = list(NodeExecution.objects.filter(running, unsent).order_by(
        "dispatched_at").values_list("pk", "dispatched_at")[:batch])
    deferred = 0
    if stale and queue_backlog():
        # A backlog: resend only what the workers have got past (`_taken_until`).
        frontier = _taken_until()
        kept = [(pk, sent) for pk, sent in stale
                if frontier is not None and sent < frontier - resend_after]
        deferred = len(stale) - len(kept)
        stale = kept
    # an execution that compensates has failed already: its compensations run to the end
    overdue = Execution.objects.filter(
        status__in=EXECUTION_ADVANCING, deadline__lt=now, compensation__isnull=True,
    ).order_by("deadline").values_list("pk", flat=True)[:batch]
    # a child whose end did not reach its parent (its message was lost)
    unreported = Execution.objects.filter(
        parent__isnull=False, reported_at__isnull=True, finished_at__lt=now - resend_after,
    ).order_by("finished_at").values_list("pk", flat=True)[:batch]
    # an ended run whose dependents were not told (the message after its end was lost)
    untold = Execution.objects.filter(
        parent__isnull=True, finished_at__isnull=False, dependents_notified_at__isnull=True,
        finished_at__lt=now - resend_after,
    ).order_by("finished_at").values_list("pk", flat=True)[:batch]
    queued = Execution.objects.filter(
        status=ExecutionStatus.PENDING, parent__isnull=True,
        created_at__lt=now - timedelta(seconds=settings.WORKFLOW_DISPATCH_RESEND_AFTER),
    ).order_by().values_list("workflow_id", flat=True).distinct()[:batch]
    actions = {
        "admitted": sum(queue_advance(workflow_id=pk) for pk in list(queued)),
        "lost": sum(_lost(pk, now) for pk in list(lost)),
        "retries": sum(_resend(pk, due_retry) for pk in list(retries)),
        "resent": sum(_resend(pk, unsent) for pk, _ in stale),
        "resend_deferred": deferred,
        "timed_out": sum(_overdue(pk, now) for pk in list(overdue)),
        "children_settled": sum(child_settle(child_id=pk) for pk in list(unreported)),
        "dependents_notified": sum(dependents_settle(execution_id=pk) for pk in list(untold)),
    }
    metrics.sweeper_observe(actions)
    return actions
