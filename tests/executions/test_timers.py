"""Due timers handed out to the workers in disjoint, leased batches, on a real worker.

Beat does not run in the tests: each test ticks `waits.timers_fire` itself, as beat would
every second, and the worker of the session runs the `executions.timers_resume` tasks.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from executions import services
from executions.models import Bookmark, ExecutionLog
from executions.services import waits
from tests.engine import wait_for, workflow_from

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True),
              pytest.mark.usefixtures("worker")]

FAR_FUTURE = "2099-01-01T00:00:00+00:00"


def waiting_on_timers(count: int, name: str) -> list[Bookmark]:
    """`count` executions of Timer (far in the future) -> Transform, all waiting; then the
    clock reaches their timers (their due_at is now): the due bookmarks."""
    workflow = workflow_from({
        "name": name, "namespace": "timers",
        "nodes": [{"id": "wait", "type": "Timer", "data": {"at": FAR_FUTURE}},
                  {"id": "work", "type": "Transform", "data": {"template": "done"}}],
        "edges": [{"source": "wait", "target": "work"}],
    })
    executions = [services.execution_start(workflow=workflow, input={})[0]
                  for _ in range(count)]
    for execution in executions:
        assert wait_for(execution, statuses=("waiting",)).status == "waiting"
    bookmarks = Bookmark.objects.filter(execution__in=executions)
    bookmarks.update(due_at=timezone.now())
    return list(bookmarks.order_by("pk"))


def all_completed(bookmarks: list[Bookmark]) -> None:
    for bookmark in bookmarks:
        execution = wait_for(bookmark.execution)
        assert execution.status == "completed", execution.error
        assert execution.output == {"work": "done"}


def handed_out_by_a_lost_task(bookmarks: list[Bookmark], now=None) -> None:
    """What a tick leaves behind when its resume task is lost: the lease, no message."""
    Bookmark.objects.filter(pk__in=[b.pk for b in bookmarks]).update(
        fire_lease_until=(now or timezone.now()) + waits.TIMER_LEASE)


def test_timers_due_in_bulk_all_complete_on_the_worker():
    # given 12 executions waiting on timers that are all due now
    bookmarks = waiting_on_timers(12, "bulk")
    # when beat ticks once, handing them out in tasks of 5
    handed = waits.timers_fire(batch=5)
    # then all of them were handed out, and every execution runs on to completion
    assert sorted(handed) == [b.pk for b in bookmarks]
    all_completed(bookmarks)
    assert set(Bookmark.objects.filter(pk__in=handed).values_list("status", flat=True)) == {
        "resumed"}


def test_two_ticks_hand_out_disjoint_batches():
    # given six due timers
    bookmarks = waiting_on_timers(6, "disjoint")
    # when a tick may leave four outstanding, and the next tick comes
    first = waits.timers_fire(limit=4)
    second = waits.timers_fire()
    # then the first handed out four, the second the other two: never one twice
    assert len(first) == 4
    assert not set(first) & set(second)
    assert sorted(first + second) == [b.pk for b in bookmarks]
    # and a third tick finds nothing left to hand out
    assert waits.timers_fire() == []
    all_completed(bookmarks)


@pytest.mark.skipif(connection.vendor != "postgresql",
                    reason="SQLite has one writer: a second tick waits for the first's commit")
def test_overlapping_ticks_skip_the_rows_the_other_holds():
    # given six due timers, and a tick that has taken three of them but not yet committed
    bookmarks = waiting_on_timers(6, "overlap")
    taken, first, done = threading.Event(), [], threading.Event()
    held_until_done: list[bool] = []

    def slow_tick() -> None:
        try:
            with transaction.atomic():
                first.extend(waits.timers_fire(limit=3))
                taken.set()
                held_until_done.append(done.wait(15))
        finally:
            taken.set()
            connections.close_all()

    thread = threading.Thread(target=slow_tick)
    thread.start()
    assert taken.wait(30)
    # when a second tick runs meanwhile
    try:
        second = waits.timers_fire()
    finally:
        done.set()
        thread.join(30)
    # then it did not wait for the first tick's rows: it skipped them, and took the others
    assert held_until_done == [True]
    assert len(first) == 3
    assert not set(first) & set(second)
    assert sorted(first + second) == [b.pk for b in bookmarks]
    all_completed(bookmarks)


def test_a_batch_handed_out_twice_resumes_each_bookmark_once():
    # given four due timers handed out (leased), and their batch delivered twice at once
    bookmarks = waiting_on_timers(4, "twice")
    handed_out_by_a_lost_task(bookmarks)
    ids = [b.pk for b in bookmarks]
    fired: list[int] = []

    def deliver() -> None:
        try:
            fired.append(waits.timers_resume(bookmark_ids=ids))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    # then each bookmark fired once, across both deliveries
    assert len(fired) == 2 and sum(fired) == 4
    all_completed(bookmarks)
    for bookmark in bookmarks:
        resumed = ExecutionLog.objects.filter(execution=bookmark.execution_id,
                                              event="node.resumed")
        assert resumed.count() == 1
        completed = ExecutionLog.objects.filter(execution=bookmark.execution_id,
                                                event="execution.completed")
        assert completed.count() == 1
    # and a third delivery, later, changes nothing
    assert waits.timers_resume(bookmark_ids=ids) == 0


def test_a_bookmark_whose_resume_task_was_lost_is_handed_out_again_after_its_lease():
    # given three due timers handed out by a tick whose resume task was lost
    bookmarks = waiting_on_timers(3, "lost")
    now = timezone.now()
    handed_out_by_a_lost_task(bookmarks, now)
    # when beat ticks while the lease runs, nothing is handed out and nothing resumes
    assert waits.timers_fire(now=now + timedelta(seconds=1)) == []
    assert {b.execution.status for b in Bookmark.objects.filter(
        pk__in=[b.pk for b in bookmarks]).select_related("execution")} == {"waiting"}
    # then, once the lease has run out, a tick hands them out again and they complete
    later = now + waits.TIMER_LEASE + timedelta(seconds=1)
    assert sorted(waits.timers_fire(now=later)) == [b.pk for b in bookmarks]
    all_completed(bookmarks)


def test_a_due_timeout_without_a_timeout_outcome_fails_its_node_on_the_worker():
    # given a wait for a message with a timeout and no timeout outcome, and a timer
    workflow = workflow_from({
        "name": "on-due-fail", "namespace": "timers",
        "nodes": [{"id": "reply", "type": "WaitForMessage",
                   "data": {"message_type": "reply", "correlation_key": "k",
                            "timeout": 3600}},
                  {"id": "after", "type": "Transform", "data": {"template": 1}}],
        "edges": [{"source": "reply", "target": "after"}],
    })
    failing, _ = services.execution_start(workflow=workflow, input={})
    assert wait_for(failing, statuses=("waiting",)).status == "waiting"
    timer = waiting_on_timers(1, "beside-a-timeout")
    Bookmark.objects.filter(execution=failing).update(due_at=timezone.now())
    # when both are due and handed out in one batch
    handed = waits.timers_fire(batch=10)
    assert len(handed) == 2
    # then the timeout fails its node (its wait is closed), and the timer resumes
    failing = wait_for(failing)
    assert failing.status == "failed"
    assert failing.nodes.get(node_id="reply").error["fault"] == "timeout"
    assert Bookmark.objects.get(execution=failing).status == "closed"
    all_completed(timer)


WAITS_WITH_A_DUE_TIME = {
    "timer": ({"type": "Timer", "data": {"at": FAR_FUTURE}}, "completed"),
    "delay": ({"type": "Delay", "data": {"until": FAR_FUTURE}}, "completed"),
    "user-action-timeout": ({"type": "UserAction", "data": {
        "assignee": "nobody", "prompt": "?", "outcomes": ["ok", "late"], "timeout": 3600,
        "timeout_outcome": "late"}}, "completed"),
    "message-timeout": ({"type": "WaitForMessage", "data": {
        "message_type": "reply", "correlation_key": "k", "timeout": 3600}}, "failed"),
    "webhook-timeout": ({"type": "Webhook", "data": {"timeout": 3600}}, "failed"),
}


@pytest.mark.parametrize("kind", list(WAITS_WITH_A_DUE_TIME))
def test_a_paused_execution_whose_wait_fell_due_moves_on_at_once_when_resumed(kind):
    # given an execution waiting on a node with a due time, then paused
    node, outcome = WAITS_WITH_A_DUE_TIME[kind]
    workflow = workflow_from({
        "name": f"paused-{kind}", "namespace": "timers",
        "nodes": [{"id": "wait", **node},
                  {"id": "after", "type": "Transform", "data": {"template": "went on"}}],
        "edges": [{"source": "wait", "target": "after"}],
    })
    execution, _ = services.execution_start(workflow=workflow, input={})
    wait_for(execution, statuses=("waiting",))
    services.execution_pause(execution=execution)
    # when its due time passes while it is paused, and beat ticks (the tick's batch runs
    # here too, so that it has surely been refused before the resume)
    Bookmark.objects.filter(execution=execution).update(due_at=timezone.now())
    waits.timers_resume(bookmark_ids=waits.timers_fire())
    # then nothing moved while paused: the wait is still open, the node still waiting
    execution.refresh_from_db()
    assert execution.status == "paused"
    assert Bookmark.objects.get(execution=execution).status == "open"
    assert execution.nodes.get(node_id="wait").status == "waiting"
    # and once resumed, the due wait fires without waiting for a lease or another tick
    services.execution_resume(execution=execution)
    execution = wait_for(execution, timeout=15)
    assert execution.status == outcome, execution.error
    if outcome == "completed":
        assert execution.output == {"after": "went on"}
    else:
        assert execution.nodes.get(node_id="wait").error["fault"] == "timeout"
