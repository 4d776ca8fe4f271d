"""Running one attempt of a node: claim, lifecycle, then completion or fault."""

from __future__ import annotations

import json
import logging
import traceback
from datetime import timedelta
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, F, Q, QuerySet
from django.db.models.sql import Query
from django.utils import timezone

from config.parsers import json_storable_check
from executions.decide import plain_join, single_input_successors
from executions.models import (
    NODE_FINISHED,
    NODE_QUEUED,
    BookmarkKind,
    Execution,
    ExecutionLog,
    ExecutionStatus,
    NodeExecution,
    NodeStatus,
    OutboxEvent,
)
from executions.plan import Plan, execution_plan
from executions.services.children import descendants_release, descendants_reserve
from executions.services.counters import counter_add
from executions.services.external import external_call
from executions.services.flow import (
    execution_advance,
    execution_advance_completed,
    node_failed_finally,
)
from executions.services.outbox import outbox_event
from executions.services.scope import template_scope
from executions.services.transitions import (
    insert_if_sql,
    log_entry,
    logs_write,
    node_lease,
    nodes_publish,
    update_statement,
)
from executions.services.waits import node_wait, redact_wait
from executions.store import node_move
from monitoring import metrics
from workflows.models import Workflow, WorkflowVersion
from workflows.nodes.base import NodeType
from workflows.nodes.context import NodeContext, WaitRequest
from workflows.nodes.faults import FatalFault, NodeFault, TimeoutFault
from workflows.nodes.registry import default_registry
from workflows.nodes.secrets import SecretsView

logger = logging.getLogger(__name__)


def _execution_load(execution_id: str) -> Execution | None:
    """The execution with its version and workflow in one query, without the version's
    definition: the plan is cached (executions/plan.py) and reads it only on a full miss."""
    return Execution.objects.select_related("version", "workflow").defer(
        "version__definition").filter(pk=execution_id).first()


def _locked(execution: Execution) -> Execution:
    """The execution's row under its lock (`SELECT ... FOR UPDATE`, no join), with the
    version and workflow already loaded (neither changes what a step does)."""
    locked = Execution.objects.select_for_update().get(pk=execution.pk)
    locked.version = execution.version
    locked.workflow = execution.workflow
    return locked


# The condition that the execution is still running, locking its row in share mode first
# (before the node's row, the order every writer follows: the execution, then its nodes).
# Parameters: the execution's id, "running".
EXECUTION_RUNNING_SHARED = (
    f"EXISTS (SELECT 1 FROM {Execution._meta.db_table} "  # noqa: S608
    "WHERE id = %s AND status = %s FOR SHARE)"
)


def _claiming_sql(execution_id: Any, rows: QuerySet[NodeExecution], values: dict[str, Any],
                  returning: str) -> tuple[str, tuple]:
    """The claim as one PostgreSQL statement: the ORM's own `UPDATE` for
    `rows.update(**values)`, also conditional on the execution still running (its row
    locked in share mode first, so a cancel or pause that holds it is waited for, then
    seen), `RETURNING *` as `claimed` (aliased `c`), and the `node.running` log entry and
    its outbox event as data-modifying `WITH` queries reading the claimed row (its new
    attempt), writing what `logs_write` would (the payload is `outbox_event`'s, the node,
    attempt and workflow filled in from the claimed row and its execution). `returning`
    is the statement's final query over `claimed c`."""
    update_sql, update_params = update_statement(rows, values)
    now = timezone.now()
    payload = outbox_event(log_entry(
        Execution(pk=execution_id, status=ExecutionStatus.RUNNING), "node.running")).payload
    execution_table = connection.ops.quote_name(Execution._meta.db_table)
    # Table names come from the models and every value is a parameter.
    sql = (
        f"WITH claimed AS ({update_sql} AND {EXECUTION_RUNNING_SHARED} RETURNING *), "  # noqa: S608
        f"logged AS (INSERT INTO {ExecutionLog._meta.db_table} "
        "(execution_id, node_id, level, event, message, data, actor, created_at) "
        "SELECT execution_id, node_id, 'info', 'node.running', '', "
        "jsonb_build_object('attempt', attempt), '', %s FROM claimed), "
        f"announced AS (INSERT INTO {OutboxEvent._meta.db_table} "
        "(execution_id, event, payload, created_at, attempts, next_attempt_at, published_at, "
        "dead, last_error) "
        "SELECT c.execution_id, 'node.running', "
        "%s::jsonb || jsonb_build_object('node', c.node_id, 'attempt', c.attempt, "
        "'workflow', e.workflow_id::text), %s, 0, %s, NULL, false, '' FROM claimed c "
        f"JOIN {execution_table} e ON e.id = c.execution_id) "
        f"{returning}"
    )
    return sql, (*update_params, execution_id, ExecutionStatus.RUNNING, now,
                 json.dumps(payload), now, now)


def _claim_statement(execution: Execution, rows: QuerySet[NodeExecution],
                     values: dict[str, Any]) -> NodeExecution | None:
    """Claim the one row `rows` selects with `values`, and write its `node.running` log
    entry and outbox event in the same transaction; the claimed row, or None.

    On PostgreSQL this is one statement, so one round trip and its own transaction
    (`_claiming_sql`). Elsewhere: an update, a read and `logs_write`.
    """
    if connection.vendor != "postgresql":
        with transaction.atomic():
            # `rows` selects by the values the update changes: find the row first.
            target = rows.values_list("pk", flat=True).first()
            running = Execution.objects.filter(pk=execution.pk,
                                               status=ExecutionStatus.RUNNING).exists()
            if target is None or not running or not rows.filter(pk=target).update(**values):
                return None
            row = NodeExecution.objects.get(pk=target)
            logs_write([log_entry(execution, "node.running", node_id=row.node_id,
                                  data={"attempt": row.attempt})])
            return row
    sql, params = _claiming_sql(execution.pk, rows, values, "SELECT * FROM claimed c")
    found = list(NodeExecution.objects.raw(sql, params))
    return found[0] if found else None


def _loaded_columns() -> list[tuple[str, list[Any]]]:
    """The tables and fields the claiming statement returns besides the claimed row: the
    execution, its version (without the definition) and its workflow, as `_execution_load`
    reads them."""
    return [
        ("e", list(Execution._meta.concrete_fields)),
        ("v", [field for field in WorkflowVersion._meta.concrete_fields
               if field.name != "definition"]),
        ("w", list(Workflow._meta.concrete_fields)),
    ]


def _claim_loading(execution_id: str, rows: QuerySet[NodeExecution],
                   values: dict[str, Any]) -> tuple[Execution, NodeExecution] | None:
    """PostgreSQL: claim like `_claim_statement`, and read the execution with its version
    and workflow in the same statement (one round trip for what was two): the final
    `SELECT` joins them to the claimed row. The execution is as the statement's snapshot
    saw it, which is what a read just before the claim would have seen. None when nothing
    was claimed (the caller then finds out why)."""
    node_fields = list(NodeExecution._meta.concrete_fields)
    loaded = _loaded_columns()
    columns = ", ".join([f'c."{field.column}"' for field in node_fields] + [
        f'{alias}."{field.column}"' for alias, fields in loaded for field in fields])
    table = connection.ops.quote_name
    sql, params = _claiming_sql(execution_id, rows, values, (
        f"SELECT {columns} FROM claimed c "  # noqa: S608 - the models' names only
        f"JOIN {table(Execution._meta.db_table)} e ON e.id = c.execution_id "
        f"JOIN {table(WorkflowVersion._meta.db_table)} v ON v.id = e.version_id "
        f"JOIN {table(Workflow._meta.db_table)} w ON w.id = e.workflow_id"))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchone()
    if found is None:
        return None
    return _instances(found, [(NodeExecution, node_fields)] + [
        (fields[0].model, fields) for _, fields in loaded])


def _instances(found: tuple, parts: list[tuple[type, list[Any]]]) -> tuple[Execution,
                                                                           NodeExecution]:
    """Model instances from one row holding the columns of several tables, converted as
    the ORM converts them (JSON, times)."""
    fields = [field for _, part in parts for field in part]
    compiler = connection.ops.compiler("SQLCompiler")(Query(NodeExecution), connection,
                                                      connection.alias)
    converters = compiler.get_converters([field.get_col(field.model._meta.db_table)
                                          for field in fields])
    values = next(iter(compiler.apply_converters([list(found)], converters)))
    instances = []
    for model, part in parts:
        instances.append(model.from_db(connection.alias, [f.attname for f in part],
                                       values[:len(part)]))
        values = values[len(part):]
    row, execution, version, workflow = instances
    execution.version = version
    execution.workflow = workflow
    return execution, row


def _claim(execution_id: str, node_id: str, redelivered: bool,
           lease: timedelta | None = None) -> tuple[Execution, NodeExecution] | None:
    """Take the node for one attempt, or None when it must not run now.

    A pending or retrying node is taken by a conditional update, so of two messages for
    it only one runs it. A running node is taken over only when its lease has expired or
    the broker redelivered the message (its worker died: late acks and
    reject-on-worker-lost put the message back). A node that already completed (a
    duplicate message) is not run again; the successors it made ready are dispatched
    again, which is harmless because each of them is claimed the same way.

    The claim, its `node.running` log entry and its outbox event commit together
    (`_claim_statement`). When the message says how long the attempt may run (`lease`,
    from its time limit), PostgreSQL claims first and reads the execution in the same
    statement (`_claim_loading`); otherwise, or when that claimed nothing, the execution
    is read first and the reason found.
    """
    now = timezone.now()
    takeable = Q(status__in=NODE_QUEUED) | Q(
        status=NodeStatus.RUNNING, lease_expires_at__lt=now)
    if redelivered:
        takeable |= Q(status=NodeStatus.RUNNING)
    this_node = NodeExecution.objects.filter(execution_id=execution_id, node_id=node_id,
                                             iteration="")
    values = {"status": NodeStatus.RUNNING, "attempt": F("attempt") + 1, "started_at": now,
              "retry_at": None}
    if lease is not None and connection.vendor == "postgresql":
        claimed = _claim_loading(execution_id, this_node.filter(takeable),
                                 {**values, "lease_expires_at": now + lease})
        if claimed is not None:
            return claimed
    execution = _execution_load(execution_id)
    if execution is None:
        logger.warning("node %s of unknown execution %s: message dropped", node_id, execution_id)
        return None
    if execution.status != ExecutionStatus.RUNNING:
        return None
    plan = execution_plan(execution)
    row = _claim_statement(execution, this_node.filter(takeable), {
        **values, "lease_expires_at": now + node_lease(plan, node_id)})
    if row is not None:
        return execution, row
    row = this_node.get()
    if row.status in NODE_FINISHED:
        with transaction.atomic():
            locked = _locked(execution)
            if locked.status == ExecutionStatus.RUNNING:
                execution_advance(locked, plan, [node_id])
    return None


def _needs_nodes(plan: Plan, node_id: str, node_type: type[NodeType]) -> bool:
    """Whether the attempt's template scope needs `nodes`, the outputs of the finished
    nodes (a query of the node rows): when the node's data mentions `nodes` (a template
    names what it reads), or its type's code reads them (`NodeType.outputs_read`)."""
    return node_id in plan.mention_nodes or node_type.outputs_read(
        plan.nodes[node_id].get("data") or {})


def node_run(*, execution_id: str, node_id: str, redelivered: bool = False,
             lease: timedelta | None = None) -> float | None:
    """Run one attempt of a node. Returns a delay when the attempt should be retried.

    `lease`: how long the attempt may go unheard of, when the message says so
    (`attempt_lease` of its time limit); otherwise it is read from the plan."""
    claimed = _claim(execution_id, node_id, redelivered, lease)
    if claimed is None:
        return None
    execution, row = claimed
    plan = execution_plan(execution)
    node = plan.nodes[node_id]
    node_type = default_registry().get(node["type"])
    rows = (execution.nodes.filter(iteration="")
            if _needs_nodes(plan, node_id, node_type) else ())
    context = NodeContext(
        execution_id=str(execution.pk), node_id=node_id, node_type=node["type"],
        attempt=row.attempt, raw_data=node.get("data", {}),
        scope=template_scope(execution, rows, row.attempt),
        iteration=row.iteration, run_external=external_call, run_counter_add=counter_add,
    )
    secrets = context.secrets
    instance = node_type()
    fault: NodeFault | None = None
    output: Any = None
    branch: str | None = None
    try:
        instance.preprocess(context)
        output = instance.postprocess(context, instance.execute(context))
        branch = instance.taken_branch(context, output)
    except NodeFault as exc:
        fault = exc
    except SoftTimeLimitExceeded:
        fault = TimeoutFault(f"Node '{node_id}' ran out of time on attempt {row.attempt}.")
    except Exception as exc:  # noqa: BLE001 - a defect in a node type fails the node, named
        _log_defect(secrets, "node %s of execution %s raised", node_id, execution_id)
        fault = FatalFault(f"Node '{node_id}' raised {type(exc).__name__}: {exc}")
    finally:
        try:
            instance.finalize(context)
        except Exception:  # noqa: BLE001 - finalize must not hide the attempt's outcome
            _log_defect(secrets, "finalize of node %s of execution %s raised", node_id,
                        execution_id)
    if fault is not None:
        return _node_fault(execution, row, plan, fault, secrets)
    if isinstance(output, WaitRequest):
        return _node_wait(execution, row, plan, output, context, secrets)
    try:
        json_storable_check(output)
        json_storable_check(context.variables)
        _node_complete(execution, row, plan, secrets.redact(output), branch or "", context,
                       secrets)
    except (TypeError, ValueError) as exc:  # an output JSON cannot hold; nothing committed
        _log_defect(secrets, "node %s of execution %s returned a bad output", node_id,
                    execution_id)
        return _node_fault(execution, row, plan, FatalFault(
            f"Node '{node_id}' returned an output that is not JSON: {exc}"), secrets)
    return None


def _log_defect(secrets: SecretsView, message: str, *args: Any) -> None:
    """Log the exception being handled, with its traceback, with the secrets the attempt
    read replaced: a node type's exception may quote a credential."""
    logger.error(f"{message}\n%s", *args, secrets.redact(traceback.format_exc()))


def _node_wait(execution: Execution, row: NodeExecution, plan: Plan, wait: WaitRequest,
               context: NodeContext, secrets: SecretsView) -> float | None:
    """The node waits; one that would start child executions reserves them in its tree
    first, and fails when they are too many or too deep."""
    children = wait.request.get("count", 1) if wait.kind == BookmarkKind.SUBWORKFLOW else 0
    try:
        if children:
            descendants_reserve(execution=execution, node_id=row.node_id, count=children)
        try:
            node_wait(execution_id=execution.pk, row=row, plan=plan,
                      wait=redact_wait(wait, secrets), context=context)
        except NodeFault:
            if children:
                descendants_release(execution=execution, count=children)
            raise
    except NodeFault as refused:
        return _node_fault(execution, row, plan, refused, secrets)
    return None


def _log_entries(execution: Execution, row: NodeExecution, branch: str, context: NodeContext,
                 secrets: SecretsView) -> list[Any]:
    """The node's own log lines and its `node.completed` entry."""
    return [
        *(log_entry(execution, "node.message", node_id=row.node_id, level=m["level"],
                    message=secrets.redact(m["message"]), data=secrets.redact(m["data"]))
          for m in context.messages),
        log_entry(execution, "node.completed", node_id=row.node_id,
                  data={"attempt": row.attempt, **({"branch": branch} if branch else {})}),
    ]


def _node_complete_unlocked(claimed: Execution, row: NodeExecution, plan: Plan, output: Any,
                            branch: str, context: NodeContext, secrets: SecretsView) -> bool:
    """Complete a node whose successors each have it as their only input (a chain, a
    fan-out) in one statement, its own transaction, without the execution's row lock;
    False when it must take the locked path (nothing was then written).

    The statement (PostgreSQL only):
    - `completed`: the fenced completion `UPDATE` (this attempt still running), holding
      `EXISTS (SELECT ... FROM execution WHERE id = ... AND status = running FOR SHARE)`:
      the execution's row is locked first, as every other writer does, but in share mode,
      so such completions of one execution do not wait for each other (they decide
      nothing together: each successor is made ready by the conditional update of its
      own row), while whatever needs the whole graph (a join, a skip, finishing the
      execution, a status change, cancel) takes the row exclusively and waits for them;
    - `logged`, `announced`: the node's log entries and their outbox events, inserted
      only if `completed` updated the row;
    - `stamped`: the successors' conditional `dispatched_at` update (the pending ones,
      only if `completed`), whose rows are the successors now ready.
    One round trip and one commit where a transaction took four round trips.
    """
    targets = single_input_successors(plan, row.node_id, branch)
    join = plain_join(plan, row.node_id, branch) if targets is None else None
    if connection.vendor != "postgresql" or context.variables or (targets or join) is None:
        return False
    now = timezone.now()
    completion_sql, completion_params = update_statement(
        NodeExecution.objects.filter(pk=row.pk, status=NodeStatus.RUNNING, attempt=row.attempt),
        {"status": NodeStatus.COMPLETED, "output": output, "branch": branch, "error": None,
         "finished_at": now})
    entries = _log_entries(claimed, row, branch, context, secrets)
    written = "EXISTS (SELECT 1 FROM completed)"
    logged_sql, logged_params = insert_if_sql(entries, written)
    announced_sql, announced_params = insert_if_sql(
        [outbox_event(entry) for entry in entries], written)
    # The SQL of each part is the ORM's own; every value is a parameter.
    head = (
        f"WITH completed AS ({completion_sql} AND {EXECUTION_RUNNING_SHARED} RETURNING 1), "  # noqa: S608
        f"logged AS ({logged_sql}), announced AS ({announced_sql}), "
    )
    head_params = (*completion_params, claimed.pk, ExecutionStatus.RUNNING, *logged_params,
                   *announced_params)
    if join is not None:
        return _join_input_complete(claimed, row, plan, join, head, head_params, entries, now)
    stamped_sql, stamped_params = update_statement(NodeExecution.objects.filter(
        execution_id=claimed.pk, node_id__in=targets, iteration="", status=NodeStatus.PENDING,
    ), {"dispatched_at": now})
    sql = (
        f"{head}stamped AS ({stamped_sql} AND {written} RETURNING node_id) "  # noqa: S608
        "SELECT (SELECT count(*) FROM completed), ARRAY(SELECT node_id FROM stamped)"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, (*head_params, *stamped_params))
        completed, ready = cursor.fetchone()
    if not completed:
        return False  # cancelled, another attempt, or the execution not running
    _completed_observe(row, entries)
    if ready:
        nodes_publish(claimed, plan, [node_id for node_id in targets if node_id in ready])
        return True
    # No successor was pending any more (a redelivered message whose successors already
    # ran): the completion stands; what comes next is decided under the lock.
    _advance_locked(claimed, plan, row.node_id)
    return True


def _completed_observe(row: NodeExecution, entries: list[Any]) -> None:
    transaction.on_commit(lambda: metrics.log_entries_observe(entries))
    metrics.node_observe(row, NodeStatus.COMPLETED)


def _advance_locked(claimed: Execution, plan: Plan, node_id: str) -> None:
    """Decide what follows a committed completion in a transaction of its own, under the
    execution's row lock (the general path's decision)."""
    with transaction.atomic():
        execution = _locked(claimed)
        if execution.status == ExecutionStatus.RUNNING:
            execution_advance(execution, plan, [node_id])


def _join_input_complete(claimed: Execution, row: NodeExecution, plan: Plan, join: str,
                         head: str, head_params: tuple, entries: list[Any], now: Any) -> bool:
    """Complete an input of a `plain_join` without the execution's exclusive lock: the
    join's own row is the lock its inputs take (after the execution's, in share mode, and
    their own), so their completions queue only there and only for a moment.

    One transaction, two statements: the completion with its entries, locking the join's
    row (`FOR UPDATE`); then, in a statement of its own (so that it sees every input
    completed by those that held the join's row before), the conditional stamp that makes
    the join ready when no input is unfinished any more. When it is not ready and a node
    of the execution waits, the execution may have nothing left but waits: the general
    path decides that under the lock, after the commit.
    """
    nodes = NodeExecution.objects.filter(execution_id=claimed.pk, iteration="")
    table = connection.ops.quote_name(NodeExecution._meta.db_table)
    unfinished = nodes.filter(
        node_id__in=[edge.source for edge in plan.incoming[join]],
    ).exclude(status__in=NODE_FINISHED)
    stamp_sql, stamp_params = update_statement(
        nodes.filter(~Exists(unfinished), node_id=join, status=NodeStatus.PENDING),
        {"dispatched_at": now})
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"{head}joined AS (SELECT 1 FROM {table} WHERE execution_id = %s "  # noqa: S608
            "AND node_id = %s AND iteration = '' FOR UPDATE) "
            "SELECT (SELECT count(*) FROM completed), (SELECT count(*) FROM joined)",
            (*head_params, claimed.pk, join))
        if not cursor.fetchone()[0]:
            return False  # cancelled, another attempt, or the execution not running
        cursor.execute(
            f"WITH stamped AS ({stamp_sql} RETURNING 1) "  # noqa: S608
            "SELECT (SELECT count(*) FROM stamped), "
            f"EXISTS (SELECT 1 FROM {table} WHERE execution_id = %s AND status = %s)",
            (*stamp_params, claimed.pk, NodeStatus.WAITING))
        ready, waiting = cursor.fetchone()
        _completed_observe(row, entries)
        if ready:
            nodes_publish(claimed, plan, [join])
    if not ready and waiting:
        _advance_locked(claimed, plan, row.node_id)
    return True


def _node_complete(claimed: Execution, row: NodeExecution, plan: Plan, output: Any, branch: str,
                   context: NodeContext, secrets: SecretsView) -> None:
    if _node_complete_unlocked(claimed, row, plan, output, branch, context, secrets):
        return
    with transaction.atomic():
        execution = _locked(claimed)
        completed = node_move(NodeExecution.objects.filter(
            pk=row.pk, status=NodeStatus.RUNNING, attempt=row.attempt
        ), NodeStatus.COMPLETED, output=output, branch=branch, error=None,
            finished_at=timezone.now())
        if not completed:
            return  # cancelled meanwhile, or another attempt finished first
        metrics.node_observe(row, NodeStatus.COMPLETED)
        if context.variables:
            execution.variables = {**execution.variables, **secrets.redact(context.variables)}
            Execution.objects.filter(pk=execution.pk).update(
                variables=execution.variables, lock_version=F("lock_version") + 1)
            execution.lock_version += 1
        entries = _log_entries(execution, row, branch, context, secrets)
        if execution.status == ExecutionStatus.RUNNING:
            execution_advance_completed(execution, plan, row.node_id, branch, entries)
        else:
            logs_write(entries)


def _node_fault(claimed: Execution, row: NodeExecution, plan: Plan, fault: NodeFault,
                secrets: SecretsView) -> float | None:
    policy = plan.retry[row.node_id]
    error = secrets.redact(fault.as_dict())
    with transaction.atomic():
        execution = _locked(claimed)
        current = NodeExecution.objects.filter(pk=row.pk, status=NodeStatus.RUNNING,
                                               attempt=row.attempt)
        if policy.retries(row.attempt, retryable=fault.retryable) and (
            execution.status == ExecutionStatus.RUNNING
        ):
            delay = policy.delay(row.attempt, retry_after=fault.retry_after)
            due = timezone.now() + timedelta(seconds=delay)
            by_countdown = delay <= settings.WORKFLOW_RETRY_COUNTDOWN_MAX
            if not node_move(current, NodeStatus.RETRYING, error=error, retry_at=due,
                             lease_expires_at=None,
                             dispatched_at=due if by_countdown else None):
                return None
            metrics.node_observe(row, NodeStatus.RETRYING)
            logs_write([log_entry(execution, "node.retrying", node_id=row.node_id, level="warning",
                 message=error["message"],
                 data={"attempt": row.attempt, "delay": round(delay, 3), **error})])
            return delay
        if not node_move(current, NodeStatus.FAILED, error=error, finished_at=timezone.now()):
            return None
        metrics.node_observe(row, NodeStatus.FAILED)
        logs_write([log_entry(execution, "node.failed", node_id=row.node_id, level="error",
             message=error["message"], data={"attempt": row.attempt, **error})])
        if execution.status != ExecutionStatus.RUNNING:
            return None
        node_failed_finally(execution, plan, row.node_id, error)
    return None
