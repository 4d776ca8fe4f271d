"""Running one attempt of a node: claim, lifecycle, then completion or fault."""

from __future__ import annotations

import logging
import time
import traceback
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from config.parsers import json_storable_check
from executions import store
from executions.decide import plain_join, single_input_successors
from executions.models import (
    NODE_FINISHED,
    NODE_QUEUED,
    BookmarkKind,
    Execution,
    ExecutionStatus,
    NodeExecution,
    NodeStatus,
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
from executions.services.scope import template_scope
from executions.services.transitions import (
    log_entry,
    logs_write,
    node_lease,
    node_timeout,
    nodes_publish,
)
from executions.services.wait_open import node_wait
from executions.services.waits import redact_wait
from executions.store import node_move
from monitoring import metrics
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


def _claim_statement(execution: Execution, node_id: str, now: Any, lease: Any,
                     redelivered: bool) -> NodeExecution | None:
    """Claim the node for an attempt, writing its `node.running` log entry and outbox
    event in the same transaction; the claimed row, or None.

    On PostgreSQL this is one statement (`store.claim`). Elsewhere: an update, a read and
    `logs_write`.
    """
    if connection.vendor == "postgresql":
        return store.claim(execution.pk, node_id, now, lease, redelivered)
    takeable = Q(status__in=NODE_QUEUED) | Q(status=NodeStatus.RUNNING, lease_expires_at__lt=now)
    if redelivered:
        takeable |= Q(status=NodeStatus.RUNNING)
    rows = NodeExecution.objects.filter(takeable, execution_id=execution.pk, node_id=node_id,
                                        iteration="")
    with transaction.atomic():
        # `rows` selects by the values the update changes: find the row first.
        target = rows.values_list("pk", flat=True).first()
        running = Execution.objects.filter(pk=execution.pk,
                                           status=ExecutionStatus.RUNNING).exists()
        if target is None or not running or not rows.filter(pk=target).update(
                status=NodeStatus.RUNNING, attempt=F("attempt") + 1, started_at=now,
                retry_at=None, lease_expires_at=lease):
            return None
        row = NodeExecution.objects.get(pk=target)
        logs_write([log_entry(execution, "node.running", node_id=row.node_id,
                              data={"attempt": row.attempt})])
        return row


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
    statement (`store.claim_loading`); otherwise, or when that claimed nothing, the
    execution is read first and the reason found.
    """
    now = timezone.now()
    if lease is not None and connection.vendor == "postgresql":
        claimed = store.claim_loading(execution_id, node_id, now, now + lease, redelivered)
        if claimed is not None:
            return claimed
    execution = _execution_load(execution_id)
    if execution is None:
        logger.warning("node %s of unknown execution %s: message dropped", node_id, execution_id)
        return None
    if execution.status != ExecutionStatus.RUNNING:
        return None
    plan = execution_plan(execution)
    row = _claim_statement(execution, node_id, now, now + node_lease(plan, node_id),
                           redelivered)
    if row is not None:
        return execution, row
    this_node = NodeExecution.objects.filter(execution_id=execution_id, node_id=node_id,
                                             iteration="")
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


@dataclass(slots=True)
class HandOn:
    """What a node task may still run after its own node: up to `steps` pure successors,
    each the only node its predecessor made ready, while `time.monotonic()` is before
    `until`, and only a successor whose timeout is no shorter than the task's soft time
    limit (`limit`, seconds), so the task's limit never lets it overrun its own."""

    steps: int
    until: float
    limit: float

    def takes(self, plan: Plan, node_id: str) -> bool:
        return (self.steps > 0 and time.monotonic() < self.until
                and default_registry().get(plan.node_type(node_id)).pure
                and node_timeout(plan, node_id) >= self.limit)


Following = tuple[str, timedelta]  # a successor handed on, and its attempt's lease


def node_run(*, execution_id: str, node_id: str, redelivered: bool = False,
             lease: timedelta | None = None, hand_on: HandOn | None = None) -> float | None:
    """Run one attempt of a node. Returns a delay when the attempt should be retried.

    `lease`: how long the attempt may go unheard of, when the message says so
    (`attempt_lease` of its time limit); otherwise it is read from the plan. With
    `hand_on`, a pure successor that this node alone made ready runs next in this task
    (a hand-on: its own claim, its own committed completion, its own log lines), instead
    of being sent as a task of its own; a retry it asks for is sent as its own task."""
    delay, following = _attempt(execution_id, node_id, redelivered, lease, hand_on)
    while following is not None and hand_on is not None:
        hand_on.steps -= 1
        successor, successor_lease = following
        _, following = _attempt(execution_id, successor, False, successor_lease, hand_on,
                                handed_on=True)
    return delay


def _attempt(execution_id: str, node_id: str, redelivered: bool, lease: timedelta | None,
             hand_on: HandOn | None, handed_on: bool = False,
             ) -> tuple[float | None, Following | None]:
    """One attempt: the retry delay it asks for, and the successor it hands on."""
    claimed = _claim(execution_id, node_id, redelivered, lease)
    metrics.claim_observe(claimed is not None)
    if claimed is None:
        return None, None
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
        return _retry_delay(execution, row, plan, fault, secrets, handed_on), None
    if isinstance(output, WaitRequest):
        return _node_wait(execution, row, plan, output, context, secrets), None
    try:
        json_storable_check(output)
        json_storable_check(context.variables)
        following = _node_complete(execution, row, plan, secrets.redact(output),
                                   branch or "", context, secrets, hand_on)
    except (TypeError, ValueError) as exc:  # an output JSON cannot hold; nothing committed
        _log_defect(secrets, "node %s of execution %s returned a bad output", node_id,
                    execution_id)
        return _retry_delay(execution, row, plan, FatalFault(
            f"Node '{node_id}' returned an output that is not JSON: {exc}"), secrets,
            handed_on), None
    return None, following


def _retry_delay(execution: Execution, row: NodeExecution, plan: Plan, fault: NodeFault,
                 secrets: SecretsView, handed_on: bool) -> float | None:
    """The fault's outcome (`_node_fault`); a handed-on node's broker retry is sent as a
    task of its own here, since the task that ran it retries its own node only."""
    delay = _node_fault(execution, row, plan, fault, secrets)
    if handed_on and delay is not None and delay <= settings.WORKFLOW_RETRY_COUNTDOWN_MAX:
        nodes_publish(execution, plan, [row.node_id], countdown=delay)
        return None
    return delay


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
            metrics.completion_observe("waiting")
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
                            branch: str, context: NodeContext, secrets: SecretsView,
                            hand_on: HandOn | None) -> bool | Following:
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
    entries = _log_entries(claimed, row, branch, context, secrets)
    if join is not None:
        inputs = [edge.source for edge in plan.incoming[join]]
        completed, ready, waiting = store.complete_join_input(
            claimed, row, output, branch, entries, join, inputs, now)
        if not completed:
            return False  # cancelled, another attempt, or the execution not running
        _completed_observe(claimed, row, entries)
        if ready:
            return _send_or_hand_on(claimed, plan, [join], hand_on)
        if waiting:  # the execution may have nothing left but waits: decided under the lock
            _advance_locked(claimed, plan, row.node_id)
        return True
    completed, ready = store.complete_chain(claimed, row, output, branch, entries, targets, now)
    if not completed:
        return False  # cancelled, another attempt, or the execution not running
    _completed_observe(claimed, row, entries)
    if ready:
        return _send_or_hand_on(claimed, plan, ready, hand_on)
    # No successor was pending any more (a redelivered message whose successors already
    # ran): the completion stands; what comes next is decided under the lock.
    _advance_locked(claimed, plan, row.node_id)
    return True


def _send_or_hand_on(execution: Execution, plan: Plan, ready: list[str],
                     hand_on: HandOn | None) -> bool | Following:
    """Send the ready successors' tasks, or hand the one ready successor on to this task
    (its row is stamped as sent: if this process dies before claiming it, the sweeper
    sends it)."""
    if hand_on is not None and len(ready) == 1 and hand_on.takes(plan, ready[0]):
        return ready[0], node_lease(plan, ready[0])
    nodes_publish(execution, plan, ready)
    return True


def _completed_observe(execution: Execution, row: NodeExecution, entries: list[Any]) -> None:
    transaction.on_commit(lambda: metrics.log_entries_observe(entries))
    metrics.node_observe(row, NodeStatus.COMPLETED, execution)


def _advance_locked(claimed: Execution, plan: Plan, node_id: str) -> None:
    """Decide what follows a committed completion in a transaction of its own, under the
    execution's row lock (the general path's decision)."""
    with transaction.atomic():
        execution = _locked(claimed)
        if execution.status == ExecutionStatus.RUNNING:
            execution_advance(execution, plan, [node_id])


def _node_complete(claimed: Execution, row: NodeExecution, plan: Plan, output: Any, branch: str,
                   context: NodeContext, secrets: SecretsView,
                   hand_on: HandOn | None = None) -> Following | None:
    """Record the completion and go on; the successor handed on to this task, if any."""
    done = _node_complete_unlocked(claimed, row, plan, output, branch, context, secrets,
                                   hand_on)
    if done:
        return None if done is True else done
    with transaction.atomic():
        execution = _locked(claimed)
        completed = node_move(NodeExecution.objects.filter(
            pk=row.pk, status=NodeStatus.RUNNING, attempt=row.attempt
        ), NodeStatus.COMPLETED, output=output, branch=branch, error=None,
            finished_at=timezone.now())
        if not completed:
            metrics.completion_observe("superseded")
            return None  # cancelled meanwhile, or another attempt finished first
        metrics.node_observe(row, NodeStatus.COMPLETED, execution)
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
    return None


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
                metrics.completion_observe("superseded")
                return None
            metrics.node_observe(row, NodeStatus.RETRYING, execution)
            logs_write([log_entry(execution, "node.retrying", node_id=row.node_id, level="warning",
                 message=error["message"],
                 data={"attempt": row.attempt, "delay": round(delay, 3), **error})])
            return delay
        if not node_move(current, NodeStatus.FAILED, error=error, finished_at=timezone.now()):
            metrics.completion_observe("superseded")
            return None
        metrics.node_observe(row, NodeStatus.FAILED, execution)
        logs_write([log_entry(execution, "node.failed", node_id=row.node_id, level="error",
             message=error["message"], data={"attempt": row.attempt, **error})])
        if execution.status != ExecutionStatus.RUNNING:
            return None
        node_failed_finally(execution, plan, row.node_id, error)
    return None
