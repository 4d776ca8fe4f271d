"""Status changes, log entries and task dispatch, shared by the engine's services."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, QuerySet
from django.db.models.sql import InsertQuery, UpdateQuery
from django.utils import timezone

from executions.dispatch import (
    CHILD_SETTLE,
    DEPENDENTS_NOTIFY,
    NODE_RUN,
    QUEUE_ADVANCE,
    Message,
    send_after_commit,
)
from executions.errors import IllegalTransitionError
from executions.models import (
    BROKER_PRIORITY,
    EXECUTION_TERMINAL,
    EXECUTION_TRANSITIONS,
    Execution,
    ExecutionLog,
    NodeExecution,
    OutboxEvent,
)
from executions.plan import Plan, execution_plan
from executions.services.outbox import outbox_event
from executions.store import dependents_of
from monitoring import metrics

RACE_RETRIES = 3  # attempts of a status change that keeps losing races
HARD_LIMIT_MARGIN = 5  # seconds between Celery's soft and hard time limits
LEASE_GRACE = 10  # seconds after the hard limit before a running attempt counts as lost



def log_entry(execution: Execution, event: str, *, node_id: str = "", message: str = "",
         level: str = "info", data: dict | None = None, actor: str = "") -> ExecutionLog:
    return ExecutionLog(execution=execution, node_id=node_id, event=event, message=message,
                        level=level, data=data, actor=actor)


def logs_write(entries: Iterable[ExecutionLog], *,
               then_update: tuple[QuerySet, dict[str, Any]] | None = None) -> int | None:
    """Store log entries; call it inside the transaction of the change they record.

    Each entry also becomes an outbox event in the same transaction, which the dispatcher
    publishes after the commit (`executions/services/outbox.py`). On PostgreSQL both go in
    one statement, and `then_update` (a queryset and the values of its `update()`) joins
    it too: one round trip; its row count is returned.
    """
    entries = list(entries)
    if not entries:
        return then_update[0].update(**then_update[1]) if then_update else None
    events = [outbox_event(entry) for entry in entries]
    transaction.on_commit(lambda: metrics.log_entries_observe(entries))
    if connection.vendor == "postgresql":
        return _insert_both(entries, events, then_update)
    ExecutionLog.objects.bulk_create(entries)
    OutboxEvent.objects.bulk_create(events)
    return then_update[0].update(**then_update[1]) if then_update else None


def update_statement(rows: QuerySet, values: dict[str, Any]) -> tuple[str, tuple]:
    """The SQL and parameters of `rows.update(**values)`, to send as part of a larger
    statement (its filters must be on the table's own columns)."""
    query = rows.query.chain(UpdateQuery)
    query.add_update_values(values)
    sql, params = query.get_compiler(rows.db).as_sql()
    return sql, tuple(params)


def _insert_sql(objs: list[Any]) -> tuple[str, tuple]:
    """The INSERT that `bulk_create` would send for these objects (without RETURNING)."""
    model = type(objs[0])
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    query = InsertQuery(model)
    query.insert_values(fields, objs, raw=False)
    [(sql, params)] = query.get_compiler(connection=connection).as_sql()
    return sql, tuple(params)


def _insert_both(entries: list[ExecutionLog], events: list[OutboxEvent],
                 then_update: tuple[QuerySet, dict[str, Any]] | None) -> int | None:
    """The log entries and their outbox events in one statement (one round trip):
    `WITH logged AS (INSERT ... log) INSERT ... outbox`, or with `then_update`,
    `WITH logged AS (...), announced AS (...) UPDATE ...` (all of it, or nothing, in the
    current transaction). The SQL of each part is the ORM's own."""
    for obj in (*entries, *events):
        obj._prepare_related_fields_for_save(operation_name="bulk_create")
    log_sql, log_params = _insert_sql(entries)
    outbox_sql, outbox_params = _insert_sql(events)
    if then_update is None:
        sql, params = f"WITH logged AS ({log_sql}) {outbox_sql}", log_params + outbox_params
    else:
        update_sql, update_params = update_statement(*then_update)
        sql = f"WITH logged AS ({log_sql}), announced AS ({outbox_sql}) {update_sql}"
        params = log_params + outbox_params + tuple(update_params)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        count = cursor.rowcount
    for obj in (*entries, *events):
        obj._state.adding = False
        obj._state.db = connection.alias
    return count if then_update is not None else None


def _limited(execution: Execution) -> bool:
    return execution_plan(execution).concurrency_limited


def execution_transition(execution: Execution, to: str, *, actor: str = "", **fields: Any) -> None:
    """Move the execution to `to` if the contract allows it; a lost race is retried.

    The update is conditional on the status and `lock_version` read (optimistic
    concurrency). When another writer changed the row in between, nothing is written: the
    current row is read again and the move retried from there if it is still allowed, so
    the other change is never silently overwritten.
    """
    told = True
    if to in EXECUTION_TERMINAL:
        fields.setdefault("finished_at", timezone.now())
        # Its dependents are told after the commit, by a task, when any wait for it
        # (executions/services/dependents.py); otherwise there is nothing to tell.
        told = execution.parent_id is not None or not dependents_of(
            execution.workflow_id, to).exists()
        fields["dependents_notified_at"] = fields["finished_at"] if told else None
    for _ in range(RACE_RETRIES):
        if to not in EXECUTION_TRANSITIONS[execution.status]:
            raise IllegalTransitionError(
                f"An execution cannot go from {execution.status} to {to}.",
                details={"from": execution.status, "to": to},
            )
        updated = Execution.objects.filter(
            pk=execution.pk, status=execution.status, lock_version=execution.lock_version
        ).update(status=to, lock_version=F("lock_version") + 1, **fields)
        if updated:
            break
        current = Execution.objects.values("status", "lock_version").get(pk=execution.pk)
        execution.status, execution.lock_version = current["status"], current["lock_version"]
    else:
        raise IllegalTransitionError(
            "The execution kept changing while this change was being made; try again.",
            details={"from": execution.status, "to": to},
        )
    if to in EXECUTION_TERMINAL and execution.parent_id:
        send_after_commit([Message(CHILD_SETTLE, (str(execution.pk),))])
    elif to in EXECUTION_TERMINAL and _limited(execution):
        send_after_commit([Message(QUEUE_ADVANCE, (str(execution.workflow_id),))])
    previous = execution.status
    execution.status = to
    execution.lock_version += 1
    for name, value in fields.items():
        setattr(execution, name, value)
    logs_write([log_entry(execution, f"execution.{to}", actor=actor,
         data={"from": previous})])
    if not told:
        send_after_commit([Message(DEPENDENTS_NOTIFY, (str(execution.pk),))])


def execution_deadline(execution: Execution, plan: Plan, now: datetime) -> datetime:
    """When a run started (or retried) at `now` times out: its trigger's override, else
    the workflow's `settings.timeout`, held within WORKFLOW_EXECUTION_TIMEOUT_MAX."""
    seconds = execution.timeout or plan.settings.get("timeout", 1800)
    return now + timedelta(seconds=min(seconds, settings.WORKFLOW_EXECUTION_TIMEOUT_MAX))


def node_timeout(plan: Plan, node_id: str) -> float:
    return float(plan.nodes[node_id].get("timeout") or settings.WORKFLOW_NODE_TIMEOUT)


def attempt_lease(timeout: float) -> timedelta:
    """How long a running attempt of a node with this timeout (its task's soft time limit)
    may go unheard of before it is presumed lost: the timeout, plus the hard limit's
    margin, plus a grace for the completion to commit."""
    return timedelta(seconds=timeout + HARD_LIMIT_MARGIN + LEASE_GRACE)


def node_lease(plan: Plan, node_id: str) -> timedelta:
    return attempt_lease(node_timeout(plan, node_id))


def nodes_dispatch(execution: Execution, plan: Plan, node_ids: Iterable[str]) -> None:
    """Send the node tasks once the current transaction has committed.

    Each task gets the node's timeout as Celery's soft limit (the attempt fails with a
    timeout fault) and a hard limit a little later (the worker process is replaced). The
    rows remember when they were sent, so that the sweeper can resend a lost message.
    """
    node_ids = list(node_ids)
    if not node_ids:
        return
    NodeExecution.objects.filter(
        execution=execution, node_id__in=node_ids, iteration=""
    ).update(dispatched_at=timezone.now())
    nodes_publish(execution, plan, node_ids)


def nodes_publish(execution: Execution, plan: Plan, node_ids: list[str],
                  countdown: float | None = None) -> None:
    """Publish the node tasks after the commit (their rows' `dispatched_at` is already set),
    all of them through one producer taken from Celery's pool; `countdown`: seconds the
    broker holds them first (a retry)."""
    if not node_ids:
        return
    priority = BROKER_PRIORITY.get(execution.priority, 5)
    execution_id = str(execution.pk)
    messages = []
    for node_id in node_ids:
        timeout = node_timeout(plan, node_id)
        messages.append(Message(NODE_RUN, (execution_id, node_id), {
            "priority": priority, "soft_time_limit": timeout,
            "time_limit": timeout + HARD_LIMIT_MARGIN,
            **({"countdown": countdown} if countdown is not None else {})}))
    send_after_commit(messages)
