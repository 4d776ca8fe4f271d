"""Running one attempt of a node: claim, lifecycle, then completion or fault."""

from __future__ import annotations

import logging
import random
from datetime import timedelta
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from executions.models import Execution, ExecutionStatus, NodeExecution, NodeStatus
from executions.plan import Plan, execution_plan
from executions.services.external import external_call
from executions.services.flow import execution_advance, node_failed_finally
from executions.services.scope import SecretsView, redact, template_scope
from executions.services.transitions import log_entry, logs_write, node_lease
from executions.services.waits import node_wait, redact_wait
from monitoring import metrics
from workflows.nodes.context import NodeContext, WaitRequest
from workflows.nodes.faults import FatalFault, NodeFault, TimeoutFault
from workflows.nodes.registry import default_registry

logger = logging.getLogger(__name__)


def _claim(execution_id: str, node_id: str,
           redelivered: bool) -> tuple[Execution, NodeExecution] | None:
    """Take the node for one attempt, or None when it must not run now.

    A pending or retrying node is taken by a conditional update, so of two messages for
    it only one runs it. A running node is taken over only when its lease has expired or
    the broker redelivered the message (its worker died: late acks and
    reject-on-worker-lost put the message back). A node that already completed (a
    duplicate message) is not run again; the successors it made ready are dispatched
    again, which is harmless because each of them is claimed the same way.
    """
    execution = Execution.objects.select_related("version", "workflow").filter(
        pk=execution_id).first()
    if execution is None:
        logger.warning("node %s of unknown execution %s: message dropped", node_id, execution_id)
        return None
    if execution.status != ExecutionStatus.RUNNING:
        return None
    now = timezone.now()
    takeable = Q(status__in=(NodeStatus.PENDING, NodeStatus.RETRYING)) | Q(
        status=NodeStatus.RUNNING, lease_expires_at__lt=now)
    if redelivered:
        takeable |= Q(status=NodeStatus.RUNNING)
    claimed = NodeExecution.objects.filter(
        takeable, execution=execution, node_id=node_id, iteration="",
    ).update(status=NodeStatus.RUNNING, attempt=F("attempt") + 1, started_at=now,
             lease_expires_at=now + node_lease(execution_plan(execution), node_id),
             retry_at=None)
    row = NodeExecution.objects.get(execution=execution, node_id=node_id, iteration="")
    if not claimed:
        if row.status in (NodeStatus.COMPLETED, NodeStatus.SKIPPED):
            with transaction.atomic():
                locked = Execution.objects.select_for_update().get(pk=execution.pk)
                if locked.status == ExecutionStatus.RUNNING:
                    execution_advance(locked, execution_plan(execution), [node_id])
        return None
    logs_write([log_entry(execution, "node.running", node_id=node_id,
                          data={"attempt": row.attempt})])
    return execution, row


def attempts_allowed(plan: Plan, node: dict[str, Any]) -> int:
    retry = node.get("retry") or {}
    if "max_attempts" in retry:
        return int(retry["max_attempts"])
    return int(plan.settings.get("max_retries", settings.WORKFLOW_MAX_RETRIES)) + 1


def _retry_delay(node: dict[str, Any], attempt: int, fault: NodeFault) -> float:
    """Exponential backoff with full jitter; a fault's own retry_after is the lower bound."""
    retry = node.get("retry") or {}
    initial = float(retry.get("initial_delay", settings.WORKFLOW_RETRY_INITIAL_DELAY))
    backoff = float(retry.get("backoff", settings.WORKFLOW_RETRY_BACKOFF))
    ceiling = float(retry.get("max_delay", settings.WORKFLOW_RETRY_MAX_DELAY))
    delay = min(ceiling, initial * backoff ** (attempt - 1))
    if retry.get("jitter", True):
        delay = random.uniform(0, delay)  # noqa: S311 - jitter, not cryptography
    return max(delay, fault.retry_after or 0.0)


def node_run(*, execution_id: str, node_id: str, redelivered: bool = False) -> float | None:
    """Run one attempt of a node. Returns a delay when the attempt should be retried."""
    claimed = _claim(execution_id, node_id, redelivered)
    if claimed is None:
        return None
    execution, row = claimed
    plan = execution_plan(execution)
    node = plan.nodes[node_id]
    node_type = default_registry().get(node["type"])
    secrets = SecretsView()
    scope = template_scope(execution, execution.nodes.filter(iteration=""), row.attempt)
    scope["secrets"] = secrets
    context = NodeContext(
        execution_id=str(execution.pk), node_id=node_id, node_type=node["type"],
        attempt=row.attempt, raw_data=node.get("data", {}), scope=scope,
        iteration=row.iteration, run_external=external_call,
    )
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
        logger.exception("node %s of execution %s raised", node_id, execution_id)
        fault = FatalFault(f"Node '{node_id}' raised {type(exc).__name__}: {exc}")
    finally:
        try:
            instance.finalize(context)
        except Exception:  # noqa: BLE001 - finalize must not hide the attempt's outcome
            logger.exception("finalize of node %s of execution %s raised", node_id, execution_id)
    if fault is not None:
        return _node_fault(execution.pk, row, plan, fault, secrets)
    if isinstance(output, WaitRequest):
        node_wait(execution_id=execution.pk, row=row, plan=plan,
                  wait=redact_wait(output, secrets), context=context)
        return None
    try:
        _node_complete(execution.pk, row, plan, redact(output, secrets), branch or "", context,
                       secrets)
    except (TypeError, ValueError) as exc:  # an output JSON cannot hold; nothing committed
        logger.exception("node %s of execution %s returned a bad output", node_id, execution_id)
        return _node_fault(execution.pk, row, plan, FatalFault(
            f"Node '{node_id}' returned an output that is not JSON: {exc}"), secrets)
    return None


def _node_complete(execution_id: Any, row: NodeExecution, plan: Plan, output: Any, branch: str,
                   context: NodeContext, secrets: SecretsView) -> None:
    with transaction.atomic():
        execution = Execution.objects.select_for_update(of=("self",)).select_related(
            "version", "workflow").get(pk=execution_id)
        completed = NodeExecution.objects.filter(
            pk=row.pk, status=NodeStatus.RUNNING, attempt=row.attempt
        ).update(status=NodeStatus.COMPLETED, output=output, branch=branch, error=None,
                 finished_at=timezone.now())
        if not completed:
            return  # cancelled meanwhile, or another attempt finished first
        metrics.node_observe(row, NodeStatus.COMPLETED)
        if context.variables:
            execution.variables = {**execution.variables, **redact(context.variables, secrets)}
            Execution.objects.filter(pk=execution.pk).update(
                variables=execution.variables, lock_version=F("lock_version") + 1)
            execution.lock_version += 1
        logs_write([
            *(log_entry(execution, "node.message", node_id=row.node_id, level=m["level"],
                   message=redact(m["message"], secrets), data=redact(m["data"], secrets))
              for m in context.messages),
            log_entry(execution, "node.completed", node_id=row.node_id,
                 data={"attempt": row.attempt, **({"branch": branch} if branch else {})}),
        ])
        if execution.status == ExecutionStatus.RUNNING:
            execution_advance(execution, plan, [row.node_id])


def _node_fault(execution_id: Any, row: NodeExecution, plan: Plan, fault: NodeFault,
                secrets: SecretsView) -> float | None:
    node = plan.nodes[row.node_id]
    error = redact(fault.as_dict(), secrets)
    with transaction.atomic():
        execution = Execution.objects.select_for_update(of=("self",)).select_related(
            "version", "workflow").get(pk=execution_id)
        current = NodeExecution.objects.filter(pk=row.pk, status=NodeStatus.RUNNING,
                                               attempt=row.attempt)
        if fault.retryable and row.attempt < attempts_allowed(plan, node) and (
            execution.status == ExecutionStatus.RUNNING
        ):
            delay = _retry_delay(node, row.attempt, fault)
            due = timezone.now() + timedelta(seconds=delay)
            by_countdown = delay <= settings.WORKFLOW_RETRY_COUNTDOWN_MAX
            if not current.update(status=NodeStatus.RETRYING, error=error, retry_at=due,
                                  lease_expires_at=None,
                                  dispatched_at=due if by_countdown else None):
                return None
            metrics.node_observe(row, NodeStatus.RETRYING)
            logs_write([log_entry(execution, "node.retrying", node_id=row.node_id, level="warning",
                 message=error["message"],
                 data={"attempt": row.attempt, "delay": round(delay, 3), **error})])
            return delay
        if not current.update(status=NodeStatus.FAILED, error=error, finished_at=timezone.now()):
            return None
        metrics.node_observe(row, NodeStatus.FAILED)
        logs_write([log_entry(execution, "node.failed", node_id=row.node_id, level="error",
             message=error["message"], data={"attempt": row.attempt, **error})])
        if execution.status != ExecutionStatus.RUNNING:
            return None
        node_failed_finally(execution, plan, row.node_id, error)
    return None
