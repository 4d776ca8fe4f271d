"""Write: the engine's statements on node runs, each guarded by the statuses' table.

`node_move` is the one way a node run's status changes through the ORM: the caller's
queryset says which rows (and what they must hold, such as an attempt number), and the
move adds that each row is in a status NODE_TRANSITIONS lets move to the target, so a
move the table does not allow changes nothing. The hot path's compound statements (the
claim and the fenced completion in executions/services/nodes.py) spell the same sources
in SQL.
"""

from __future__ import annotations

import functools
import json
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.db.models.sql import Query
from psycopg.types.json import Jsonb

from executions.models import (
    NODE_FINISHED,
    NODE_QUEUED,
    NODE_TRANSITIONS,
    Execution,
    ExecutionLog,
    ExecutionStatus,
    NodeExecution,
    NodeStatus,
    OutboxEvent,
    node_sources,
)
from workflows.models import DependencyCondition, Workflow, WorkflowDependency, WorkflowVersion


def node_move(rows: QuerySet[NodeExecution], to: str, **fields: Any) -> int:
    """Move `rows` that may go to `to` there, setting `fields` with it; how many moved."""
    sources = node_sources(to)
    # every status may go back to pending: no condition to add then
    if len(sources) < len(NODE_TRANSITIONS):
        rows = rows.filter(status__in=sources)
    return rows.update(status=to, **fields)


# The terminal statuses of an upstream execution each dependency condition accepts. A
# timed-out run ends as `failed` (there is no separate status), so `failed` covers timeouts.
CONDITION_STATUSES: dict[str, frozenset[str]] = {
    DependencyCondition.COMPLETED: frozenset({ExecutionStatus.COMPLETED}),
    DependencyCondition.FAILED: frozenset({ExecutionStatus.FAILED}),
    DependencyCondition.FINISHED: frozenset({ExecutionStatus.COMPLETED, ExecutionStatus.FAILED,
                                             ExecutionStatus.CANCELLED}),
}


def dependency_conditions(status: str) -> list[str]:
    """The dependency conditions an upstream run ending in `status` meets."""
    return [condition for condition, statuses in CONDITION_STATUSES.items()
            if status in statuses]


def dependents_of(workflow_id: Any, status: str) -> QuerySet[WorkflowDependency]:
    """The dependency rows a run of this workflow ending in `status` satisfies (upstreams
    are held by namespace and name)."""
    upstream = Workflow.objects.filter(pk=workflow_id, namespace=OuterRef("upstream_namespace"),
                                       name=OuterRef("upstream_name"))
    return WorkflowDependency.objects.filter(Exists(upstream),
                                             condition__in=dependency_conditions(status))


# --- The hot path's statements (PostgreSQL) ------------------------------------------------
#
# A node step sends two statements: the claim and the completion, each with its log entries
# and outbox events as data-modifying `WITH` queries (docs/engine.md, "Cost of a node
# step"). Their SQL is written once per process from the models' tables and columns, and
# reused with new parameters: building it through the ORM at every step cost more CPU than
# the rest of the step's Python. The text does not change with the values (lists go as
# arrays), so psycopg can prepare each statement once per connection.

_NODE = NodeExecution._meta.db_table
_EXECUTION = Execution._meta.db_table
_LOG_COLUMNS = ("execution_id", "node_id", "level", "event", "message", "data", "actor",
                "created_at")
_OUTBOX_COLUMNS = ("execution_id", "event", "payload", "created_at", "attempts",
                   "next_attempt_at", "published_at", "dead", "last_error")


# The execution still runs, its row locked in share mode first (before the node's row: the
# order every writer follows). Parameters: the execution's id.
EXECUTION_RUNNING_SHARED = (
    f"EXISTS (SELECT 1 FROM {_EXECUTION} WHERE id = %s "  # noqa: S608 - the model's table
    f"AND status = '{ExecutionStatus.RUNNING}' FOR SHARE)"
)


def _json(value: Any) -> Jsonb | None:
    """A JSON column's parameter, as the ORM writes it (None is SQL NULL)."""
    return None if value is None else Jsonb(value)


@functools.cache
def _rows_sql(model: type, columns: tuple[str, ...], count: int, condition: str) -> str:
    """`INSERT ... SELECT` of `count` rows of `model`'s `columns`, each value cast to its
    column's type, written only when `condition` holds."""
    fields = {field.column: field for field in model._meta.concrete_fields}
    row = "(" + ", ".join(f"%s::{fields[column].db_type(connection)}"
                          for column in columns) + ")"
    return (f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) "  # noqa: S608
            f"SELECT * FROM (VALUES {', '.join([row] * count)}) AS v WHERE {condition}")


def entries_sql(execution: Any, entries: list[ExecutionLog], condition: str,
                now: datetime) -> tuple[str, str, list[Any]]:
    """The inserts of `entries` (log entries of `execution`) and of their outbox events,
    as two `WITH` parts written only when `condition` holds, and their parameters (those
    of the log entries, then those of the events)."""
    logged, announced = [], []
    for entry in entries:
        logged += [execution.pk, entry.node_id, entry.level, entry.event, entry.message,
                   _json(entry.data), entry.actor, now]
        announced += [execution.pk, entry.event, Jsonb(event_payload(
            execution, entry.event, entry.node_id, entry.data, now)), now, 0, now, None,
            False, ""]
    count = len(entries)
    return (_rows_sql(ExecutionLog, _LOG_COLUMNS, count, condition),
            _rows_sql(OutboxEvent, _OUTBOX_COLUMNS, count, condition),
            logged + announced)


def event_payload(execution: Any, event: str, node_id: str, data: dict | None,
                  now: datetime) -> dict[str, Any]:
    """An outbox event's payload: ids, the status reached and the attempt, nothing else
    (never outputs, messages or secrets)."""
    kind, _, suffix = event.partition(".")
    statuses = NodeStatus.values if kind == "node" else ExecutionStatus.values
    return {
        "execution": str(execution.pk),
        "workflow": str(execution.workflow_id),
        "node": node_id or None,
        "status": suffix if suffix in statuses else None,
        "execution_status": execution.status,
        "attempt": (data or {}).get("attempt"),
        "at": now.isoformat(),
    }


def _claiming_sql(returning: str) -> str:
    """The claim as one statement: the node's row taken for a new attempt when it is
    queued, or running with its lease expired (or its message redelivered), and the
    execution still runs; its `node.running` entry and outbox event written from the
    claimed row; then `returning`, a query over `claimed c`."""
    return (
        f"WITH claimed AS (UPDATE {_NODE} SET status = '{NodeStatus.RUNNING}', "  # noqa: S608
        "attempt = attempt + 1, started_at = %(now)s, retry_at = NULL, "
        "lease_expires_at = %(lease)s "
        "WHERE execution_id = %(execution)s AND node_id = %(node)s AND iteration = '' "
        "AND (status = ANY(%(queued)s) OR (status = "
        f"'{NodeStatus.RUNNING}' AND (lease_expires_at < %(now)s OR %(redelivered)s))) "
        f"AND EXISTS (SELECT 1 FROM {_EXECUTION} WHERE id = %(execution)s "
        f"AND status = '{ExecutionStatus.RUNNING}' FOR SHARE) RETURNING *), "
        f"logged AS (INSERT INTO {ExecutionLog._meta.db_table} "
        f"({', '.join(_LOG_COLUMNS)}) "
        "SELECT execution_id, node_id, 'info', 'node.running', '', "
        "jsonb_build_object('attempt', attempt), '', %(now)s FROM claimed), "
        f"announced AS (INSERT INTO {OutboxEvent._meta.db_table} "
        f"({', '.join(_OUTBOX_COLUMNS)}) "
        "SELECT c.execution_id, 'node.running', "
        "%(payload)s::jsonb || jsonb_build_object('node', c.node_id, 'attempt', c.attempt, "
        "'workflow', e.workflow_id::text), %(now)s, 0, %(now)s, NULL, false, '' "
        f"FROM claimed c JOIN {_EXECUTION} e ON e.id = c.execution_id) "
        f"{returning}"
    )


def _claim_params(execution_id: Any, node_id: str, now: datetime, lease: datetime,
                  redelivered: bool) -> dict[str, Any]:
    payload = event_payload(Execution(pk=execution_id, status=ExecutionStatus.RUNNING),
                            "node.running", "", None, now)
    return {"now": now, "lease": lease, "execution": execution_id, "node": node_id,
            "queued": list(NODE_QUEUED), "redelivered": redelivered,
            "payload": json.dumps(payload)}


@functools.cache
def _claim_loading_sql() -> tuple[str, tuple[tuple[type, tuple[Any, ...]], ...]]:
    """The claim whose final query also reads the execution, its version (without the
    definition) and its workflow; with the models and fields of its columns, in order."""
    parts = (
        (NodeExecution, "c", tuple(NodeExecution._meta.concrete_fields)),
        (Execution, "e", tuple(Execution._meta.concrete_fields)),
        (WorkflowVersion, "v", tuple(field for field in WorkflowVersion._meta.concrete_fields
                                     if field.name != "definition")),
        (Workflow, "w", tuple(Workflow._meta.concrete_fields)),
    )
    columns = ", ".join(f'{alias}."{field.column}"' for _, alias, fields in parts
                        for field in fields)
    sql = _claiming_sql(
        f"SELECT {columns} FROM claimed c "  # noqa: S608 - the models' names only
        f"JOIN {_EXECUTION} e ON e.id = c.execution_id "
        f"JOIN {WorkflowVersion._meta.db_table} v ON v.id = e.version_id "
        f"JOIN {Workflow._meta.db_table} w ON w.id = e.workflow_id")
    return sql, tuple((model, fields) for model, _, fields in parts)


def claim_loading(execution_id: Any, node_id: str, now: datetime, lease: datetime,
                  redelivered: bool) -> tuple[Execution, NodeExecution] | None:
    """Claim the node for an attempt (`_claiming_sql`) and read its execution, with the
    version and workflow, in the same statement (its own transaction); None when nothing
    was claimed. The execution is as the statement's snapshot saw it."""
    sql, parts = _claim_loading_sql()
    with connection.cursor() as cursor:
        cursor.execute(sql, _claim_params(execution_id, node_id, now, lease, redelivered))
        found = cursor.fetchone()
    if found is None:
        return None
    row, execution, version, workflow = _instances(found, parts)
    execution.version = version
    execution.workflow = workflow
    return execution, row


def claim(execution_id: Any, node_id: str, now: datetime, lease: datetime,
          redelivered: bool) -> NodeExecution | None:
    """Claim the node for an attempt (`_claiming_sql`); the claimed row, or None."""
    found = list(NodeExecution.objects.raw(
        _claiming_sql("SELECT * FROM claimed c"),
        _claim_params(execution_id, node_id, now, lease, redelivered)))
    return found[0] if found else None


@functools.cache
def _converters(parts: tuple[tuple[type, tuple[Any, ...]], ...]) -> tuple[Any, Any]:
    fields = [field for _, part in parts for field in part]
    compiler = connection.ops.compiler("SQLCompiler")(Query(NodeExecution), connection,
                                                      connection.alias)
    return compiler, compiler.get_converters(
        [field.get_col(field.model._meta.db_table) for field in fields])


def _instances(found: tuple, parts: tuple[tuple[type, tuple[Any, ...]], ...]) -> list[Any]:
    """Model instances from one row holding the columns of several tables, converted as
    the ORM converts them (JSON, times)."""
    compiler, converters = _converters(parts)
    values = next(iter(compiler.apply_converters([list(found)], converters)))
    instances = []
    for model, part in parts:
        instances.append(model.from_db(connection.alias, [f.attname for f in part],
                                       values[:len(part)]))
        values = values[len(part):]
    return instances


def _completion_head(execution: Any, row: NodeExecution, output: Any, branch: str,
                     entries: list[ExecutionLog], now: datetime) -> tuple[str, list[Any]]:
    """The start of a completion statement: `completed` (the fenced completion of this
    attempt, while the execution runs, its row locked in share mode first), then
    `logged` and `announced` (the entries and their events, only if `completed`)."""
    written = "EXISTS (SELECT 1 FROM completed)"
    logged_sql, announced_sql, entry_params = entries_sql(execution, entries, written, now)
    head = (
        f"WITH completed AS (UPDATE {_NODE} SET status = '{NodeStatus.COMPLETED}', "  # noqa: S608
        "output = %s, branch = %s, error = NULL, finished_at = %s "
        f"WHERE id = %s AND status = '{NodeStatus.RUNNING}' AND attempt = %s "
        f"AND {EXECUTION_RUNNING_SHARED} RETURNING 1), "
        f"logged AS ({logged_sql}), announced AS ({announced_sql}), "
    )
    return head, [_json(output), branch, now, row.pk, row.attempt, execution.pk, *entry_params]


def complete_chain(execution: Any, row: NodeExecution, output: Any, branch: str,
                   entries: list[ExecutionLog], targets: list[str],
                   now: datetime) -> tuple[bool, list[str]]:
    """Complete an attempt whose successors `targets` each have it as their only input,
    in one statement (its own transaction): the completion, its entries, and the
    successors' conditional `dispatched_at` stamp (the pending ones). Whether it
    completed (not if cancelled, taken by another attempt, or the execution stopped), and
    which successors it made ready."""
    head, params = _completion_head(execution, row, output, branch, entries, now)
    sql = (
        f"{head}stamped AS (UPDATE {_NODE} SET dispatched_at = %s "  # noqa: S608
        "WHERE execution_id = %s AND iteration = '' AND node_id = ANY(%s) "
        f"AND status = '{NodeStatus.PENDING}' AND EXISTS (SELECT 1 FROM completed) "
        "RETURNING node_id) "
        "SELECT (SELECT count(*) FROM completed), ARRAY(SELECT node_id FROM stamped)"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, now, execution.pk, list(targets)])
        completed, ready = cursor.fetchone()
    return bool(completed), [node_id for node_id in targets if node_id in ready]


def complete_join_input(execution: Any, row: NodeExecution, output: Any, branch: str,
                        entries: list[ExecutionLog], join: str, inputs: list[str],
                        now: datetime) -> tuple[bool, bool, bool]:
    """Complete an input of a plain join (every incoming edge plain): one transaction,
    two statements. The completion with its entries, locking the join's row (the lock its
    inputs queue on, after the execution's in share mode); then, in a statement of its
    own (so that it sees every input completed by those that held the join's row before),
    the join's conditional stamp when no input is unfinished any more. Whether it
    completed, whether the join became ready, and whether a node of the execution waits."""
    head, params = _completion_head(execution, row, output, branch, entries, now)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"{head}joined AS (SELECT 1 FROM {_NODE} WHERE execution_id = %s "  # noqa: S608
            "AND node_id = %s AND iteration = '' FOR UPDATE) "
            "SELECT (SELECT count(*) FROM completed), (SELECT count(*) FROM joined)",
            [*params, execution.pk, join])
        if not cursor.fetchone()[0]:
            return False, False, False
        cursor.execute(
            f"WITH stamped AS (UPDATE {_NODE} SET dispatched_at = %s "  # noqa: S608
            "WHERE execution_id = %s AND node_id = %s AND iteration = '' "
            f"AND status = '{NodeStatus.PENDING}' AND NOT EXISTS (SELECT 1 FROM {_NODE} "
            "WHERE execution_id = %s AND iteration = '' AND node_id = ANY(%s) "
            "AND NOT (status = ANY(%s))) RETURNING 1) "
            "SELECT (SELECT count(*) FROM stamped), "
            f"EXISTS (SELECT 1 FROM {_NODE} WHERE execution_id = %s "
            f"AND status = '{NodeStatus.WAITING}')",
            [now, execution.pk, join, execution.pk, list(inputs), list(NODE_FINISHED),
             execution.pk])
        ready, waiting = cursor.fetchone()
    return True, bool(ready), bool(waiting)
