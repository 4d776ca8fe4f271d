"""Waiting nodes: bookmarks opened, resumed by a person, a message, a hook or a timer.

A waiting node holds no worker. Its node run is `waiting`, a bookmark row says what may
resume it, and the continuation is the execution's own state: resuming completes the node
with the resume's output, in one transaction, and advances the graph from there. Nothing
lives in process memory, so a wait survives a restart of every process.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import defaultdict
from datetime import timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from executions.dispatch import TIMERS_RESUME, Message, send_after_commit
from executions.errors import BookmarkClosedError, IllegalTransitionError, ResumeInvalidError
from executions.models import (
    BROKER_PRIORITY,
    EXECUTION_ADVANCING,
    Bookmark,
    BookmarkKind,
    BookmarkStatus,
    Execution,
    ExecutionStatus,
    NodeExecution,
    NodeStatus,
)
from executions.plan import execution_plan
from executions.services.flow import (
    execution_advance,
    execution_advance_completed,
    node_failed_finally,
)
from executions.services.transitions import execution_transition, log_entry, logs_write
from executions.store import node_move
from workflows.nodes.context import WaitRequest
from workflows.nodes.faults import TimeoutFault, ValidationFault
from workflows.nodes.registry import default_registry
from workflows.nodes.secrets import SecretsView

TIMER_BATCH = 50  # bookmark ids per `executions.timers_resume` task
TIMER_CHUNK = 500  # due bookmarks leased per transaction of a tick
TIMERS_OUTSTANDING = 2000  # handed out and not yet fired, at most (the queued backlog)
TIMER_LEASE = timedelta(seconds=60)  # before a handed-out bookmark may be handed out again
# A wait fires only while its execution advances (EXECUTION_ADVANCING); paused or
# suspended, it waits for the resume, which sends the waits that fell due meanwhile.

logger = logging.getLogger(__name__)


def redact_wait(wait: WaitRequest, secrets: SecretsView) -> WaitRequest:
    return dataclasses.replace(wait, request=secrets.redact(wait.request))


def bookmark_resume(*, bookmark: Bookmark, payload: Any, by: str | None,
                    timed_out: bool = False) -> Bookmark:
    """Resume a waiting node: its output comes from the payload, then the graph goes on.

    Refused (409) when the bookmark is no longer open or the execution cannot go on
    (paused, cancelled); a payload the node refuses (an unknown outcome, a form that is
    not filled) is a 400 naming the field, and the bookmark stays open.
    """
    with transaction.atomic():
        execution = Execution.objects.select_for_update(of=("self",)).select_related(
            "version", "workflow").get(pk=bookmark.execution_id)
        locked = Bookmark.objects.select_for_update().get(pk=bookmark.pk)
        if locked.status != BookmarkStatus.OPEN:
            raise BookmarkClosedError(
                f"This wait was already {locked.status}.", details={"status": locked.status}
            )
        if execution.status not in EXECUTION_ADVANCING:
            raise IllegalTransitionError(
                f"The execution is {execution.status}; it cannot go on now.",
                details={"from": execution.status},
            )
        plan = execution_plan(execution)
        node_type = default_registry().get(plan.node_type(locked.node_id))
        try:
            output, branch = node_type.on_resume(
                locked.request, payload, by=by, timed_out=timed_out
            )
        except ValidationFault as fault:
            raise ResumeInvalidError(fault.message, details=fault.details) from None
        now = timezone.now()
        Bookmark.objects.filter(pk=locked.pk).update(
            status=BookmarkStatus.RESUMED, resumed_by=by or "", resumed_with=payload,
            resumed_at=now,
        )
        waiting = NodeExecution.objects.filter(
            execution=execution, node_id=locked.node_id, iteration=locked.iteration,
            status=NodeStatus.WAITING,
        )
        logs_write([  # on PostgreSQL, one statement with the node's completion
            log_entry(execution, "node.resumed", node_id=locked.node_id, actor=by or "",
                      data={"kind": locked.kind, "timed_out": timed_out}),
            log_entry(execution, "node.completed", node_id=locked.node_id,
                      data={"branch": branch} if branch else None),
        ], then_update=(waiting, {"status": NodeStatus.COMPLETED, "output": output,
                                  "branch": branch or "", "finished_at": now}))
        if execution.status == ExecutionStatus.WAITING:
            execution_transition(execution, ExecutionStatus.RUNNING, actor=by or "")
        if locked.iteration:  # a wait inside a loop body's iteration: the general path
            execution_advance(execution, plan, [locked.node_id])
        else:  # a chain or a fan-out: the successors' dispatch stamp decides, no rows read
            execution_advance_completed(execution, plan, locked.node_id, branch or "", [])
    locked.status = BookmarkStatus.RESUMED
    return locked


def _bookmark_expire(bookmark: Bookmark) -> bool:
    """A wait's timeout fired and the node has no timeout outcome: the node fails.

    Refused like a resume while the execution cannot go on (paused, suspended): its node
    fails once the execution is resumed."""
    with transaction.atomic():
        execution = Execution.objects.select_for_update(of=("self",)).select_related(
            "version", "workflow").get(pk=bookmark.execution_id)
        if execution.status not in EXECUTION_ADVANCING:
            raise IllegalTransitionError(
                f"The execution is {execution.status}; it cannot go on now.",
                details={"from": execution.status},
            )
        if not Bookmark.objects.filter(pk=bookmark.pk, status=BookmarkStatus.OPEN).update(
            status=BookmarkStatus.CLOSED, resumed_at=timezone.now()
        ):
            return False
        error = TimeoutFault(
            f"Node '{bookmark.node_id}' waited longer than its timeout."
        ).as_dict()
        node_move(NodeExecution.objects.filter(
            execution=execution, node_id=bookmark.node_id, iteration=bookmark.iteration,
            status=NodeStatus.WAITING,
        ), NodeStatus.FAILED, error=error, finished_at=timezone.now())
        logs_write([log_entry(execution, "node.failed", node_id=bookmark.node_id, level="error",
                  message=error["message"], data=error)])
        if execution.status in EXECUTION_ADVANCING:
            node_failed_finally(execution, execution_plan(execution), bookmark.node_id, error)
    return True


def _due(now: Any) -> QuerySet:
    """Open bookmarks that are due and not handed out (or whose lease has run out), of
    executions that can go on (a paused one's are handed out when it is resumed).

    Rows another tick holds are skipped, not waited for; SQLite has no SKIP LOCKED, but its
    transactions are IMMEDIATE (one writer at a time), so a second tick starts only once the
    first has committed its leases, and sees them.
    """
    due = Bookmark.objects.filter(status=BookmarkStatus.OPEN, due_at__lte=now,
                                  execution__status__in=EXECUTION_ADVANCING).filter(
        Q(fire_lease_until__isnull=True) | Q(fire_lease_until__lte=now)
    ).order_by("due_at")
    if connection.features.has_select_for_update_skip_locked:
        return due.select_for_update(skip_locked=True, of=("self",))
    return due.select_for_update()


def _resumes_send(handed: list[tuple[int, str]], batch: int) -> None:
    """After the commit, send `executions.timers_resume` tasks of up to `batch` bookmark
    ids each, at the broker priority of their executions (like their node steps)."""
    by_priority: dict[int, list[int]] = defaultdict(list)
    for pk, priority in handed:
        by_priority[BROKER_PRIORITY.get(priority, 5)].append(pk)

    send_after_commit(
        Message(TIMERS_RESUME, (ids[first:first + batch],), {"priority": priority})
        for priority, ids in sorted(by_priority.items(), reverse=True)
        for first in range(0, len(ids), batch))


def timers_fire(*, now: Any = None, batch: int = TIMER_BATCH,
                limit: int = TIMERS_OUTSTANDING, chunk: int = TIMER_CHUNK) -> list[int]:
    """Hand the due bookmarks out to the workers, in disjoint batches; returns their ids.

    Each chunk of due bookmarks is taken with FOR UPDATE SKIP LOCKED and leased
    (`fire_lease_until`) in one transaction, so two ticks never hand out the same bookmark
    while its lease runs; after the commit, `executions.timers_resume` tasks of `batch` ids
    each resume them on the workers. A task that is lost costs the lease: the bookmarks are
    handed out again once it has run out. A tick goes on while more are due, up to `limit`
    handed out and not yet resumed (the backlog it leaves in the queue).
    """
    now = now or timezone.now()
    lease_until = now + TIMER_LEASE
    room = limit - Bookmark.objects.filter(
        status=BookmarkStatus.OPEN, due_at__lte=now, fire_lease_until__gt=now).count()
    handed_out: list[int] = []
    while room > 0:
        with transaction.atomic():
            handed = list(_due(now).values_list("pk", "execution__priority")[:min(chunk, room)])
            if not handed:
                break
            Bookmark.objects.filter(pk__in=[pk for pk, _ in handed]).update(
                fire_lease_until=lease_until)
            _resumes_send(handed, batch)
        handed_out += [pk for pk, _ in handed]
        room -= len(handed)
        if len(handed) < chunk:
            break
    return handed_out


def bookmark_fire(bookmark: Bookmark) -> bool:
    """A due bookmark fires: a timer resumes, a timeout takes its timeout outcome or fails
    the node. Conditional, so a bookmark fired twice resumes its node once; False when it
    was no longer open or its execution cannot go on (paused, suspended, cancelled).

    A refused bookmark that stays open gives its lease back, so that it is not held out
    of reach for the rest of the lease: resuming its execution sends it at once."""
    try:
        if bookmark.request.get("on_due") == "fail":
            return _bookmark_expire(bookmark)
        bookmark_resume(bookmark=bookmark, payload={}, by=None,
                        timed_out=bookmark.kind != BookmarkKind.TIMER)
    except BookmarkClosedError:
        return False  # resumed or closed meanwhile
    except IllegalTransitionError:
        Bookmark.objects.filter(pk=bookmark.pk, status=BookmarkStatus.OPEN).update(
            fire_lease_until=None)
        return False
    return True


def due_waits_send(*, execution: Execution, now: Any = None) -> list[int]:
    """Send the execution's due waits to the workers after the commit (the caller holds
    the execution's lock and has just let it go on): leased now, whatever lease a refused
    hand-out left, since firing is conditional and fires each once."""
    now = now or timezone.now()
    handed = list(Bookmark.objects.filter(
        execution=execution, status=BookmarkStatus.OPEN, due_at__lte=now,
    ).values_list("pk", flat=True))
    if handed:
        Bookmark.objects.filter(pk__in=handed).update(fire_lease_until=now + TIMER_LEASE)
        _resumes_send([(pk, execution.priority) for pk in handed], TIMER_BATCH)
    return handed


def timers_resume(*, bookmark_ids: list[int]) -> int:
    """Fire the bookmarks of a batch handed out by `timers_fire`; returns how many fired.

    A batch handed out twice (its lease ran out, its task was redelivered) fires each
    bookmark once. One that fails unexpectedly is logged and left to its lease, so it does
    not hold up the rest of the batch.
    """
    fired = 0
    for bookmark in Bookmark.objects.filter(pk__in=bookmark_ids, status=BookmarkStatus.OPEN
                                            ).order_by("due_at"):
        try:
            fired += bookmark_fire(bookmark)
        except Exception:  # noqa: BLE001 - handed out again when its lease runs out
            logger.exception("bookmark %s did not fire; it is retried after its lease",
                             bookmark.pk)
    return fired


def message_deliver(*, message_type: str, correlation_key: str, payload: Any,
                    by: str | None) -> list[Bookmark]:
    """Resume every open wait for this message type and correlation key."""
    waiting = Bookmark.objects.filter(
        status=BookmarkStatus.OPEN, kind=BookmarkKind.MESSAGE,
        key=f"{message_type}:{correlation_key}",
    ).order_by("created_at")
    resumed = []
    for bookmark in waiting:
        try:
            resumed.append(bookmark_resume(bookmark=bookmark, payload=payload, by=by))
        except (BookmarkClosedError, IllegalTransitionError):
            continue
    return resumed
