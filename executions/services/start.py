"""Starting an execution."""

from __future__ import annotations

import copy
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from config.parsers import field_path
from executions.errors import (
    ConcurrencyLimitError,
    ExecutionInputInvalidError,
    IdempotencyKeyReusedError,
    WorkflowInactiveError,
)
from executions.models import Execution, ExecutionStatus, NodeExecution
from executions.plan import execution_plan
from executions.services.concurrency import active_count, admission
from executions.services.flow import execution_finish
from executions.services.transitions import (
    execution_deadline,
    execution_transition,
    log_entry,
    logs_write,
    nodes_dispatch,
    nodes_publish,
)
from workflows.models import Workflow
from workflows.user_schemas import UserSchemaError, user_schema_errors


def input_problems(schema: dict | None, value: Any) -> dict[str, list[str]]:
    """Where `value` breaks a workflow's `inputs` schema, by field path ("input" for the top)."""
    if not schema:
        return {}
    try:
        errors = user_schema_errors(schema, value, field="inputs")
    except UserSchemaError as exc:
        return {"input": [f"the workflow's inputs schema cannot be used: {field}: {message}"
                          for field, message in exc.problems]}
    problems: dict[str, list[str]] = {}
    for error in errors:
        path = field_path(error.absolute_path) or "input"
        problems.setdefault(path, []).append(error.message)
    return problems


def execution_start(
    *,
    workflow: Workflow,
    input: dict[str, Any],  # noqa: A002 - the contract's name
    actor: Any = None,
    priority: str | None = None,
    idempotency_key: str | None = None,
    trigger: str = "api",
    correlation_id: str = "",
    version: Any = None,
    timeout: int | None = None,
) -> tuple[Execution, bool]:
    """Start the workflow's current version (or the given one of its versions); the same
    idempotency key returns the same run. `timeout` (seconds) overrides the workflow's.

    Returns the execution and whether it was created now.
    """
    if idempotency_key:
        existing = Execution.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return _same_start(existing, workflow, input), False
    if not workflow.active:
        raise WorkflowInactiveError(f"Workflow {workflow} is inactive; activate it to run it.")
    version = version or workflow.current_version
    problems = input_problems(version.definition.get("inputs"), input)
    if problems:
        first = next(iter(problems))
        raise ExecutionInputInvalidError(
            f"The input does not match the workflow's inputs schema at '{first}': "
            f"{problems[first][0]}",
            details={"fields": problems},
        )
    user = actor if getattr(actor, "is_authenticated", False) else None
    settings_ = version.definition.get("settings", {})
    limit = int(settings_.get("concurrency", 0))
    overlap = settings_.get("overlap", "queue")
    try:
        with admission(workflow, limit if overlap != "allow" else 0):
            admit = limit == 0 or overlap == "allow" or active_count(workflow) < limit
            if not admit and overlap == "skip":
                raise ConcurrencyLimitError(
                    f"Workflow {workflow} already runs {limit} execution(s) at once; "
                    "this start is skipped (overlap: skip).",
                    details={"concurrency": limit, "overlap": overlap},
                )
            with transaction.atomic():
                execution = _execution_create(
                    workflow=workflow, version=version, input=input, priority=priority,
                    trigger=trigger, started_by=user, idempotency_key=idempotency_key or None,
                    correlation_id=correlation_id, admit=admit, timeout=timeout,
                )
    except IntegrityError:
        if idempotency_key:
            existing = Execution.objects.get(idempotency_key=idempotency_key)
            return _same_start(existing, workflow, input), False
        raise
    return execution, True


def _same_start(existing: Execution, workflow: Workflow, input: Any) -> Execution:  # noqa: A002
    """The run an idempotency key started, when this start is the same one again (the same
    workflow and input); another start with the key is refused."""
    if existing.workflow_id != workflow.pk or existing.input != input:
        raise IdempotencyKeyReusedError(
            "This idempotency key started another run (of another workflow or with another "
            "input); a key names one start: send a new key for a new one.",
            details={"fields": {"idempotency_key": [
                "Already used for a start with another workflow or input."]}})
    return existing


def _execution_create(*, version: Any, priority: str | None, started_by: Any = None,
                      admit: bool = True, **fields: Any) -> Execution:
    """Create an execution with a row per node and, when admitted, start it.

    Runs inside the caller's transaction; the tasks go out when it commits. An execution
    that is not admitted (its workflow's concurrency is full) stays pending, queued.
    """
    execution = Execution(version=version, started_by=started_by, **fields)
    plan = execution_plan(execution)
    execution.priority = priority or plan.settings.get("priority", "normal")
    pending = log_entry(copy.copy(execution), "execution.pending",
                        actor=started_by.get_username() if started_by else "",
                        data={"version": version.number, "trigger": execution.trigger,
                              "queued": not admit})
    # An admitted execution is written running (its `pending -> running` move recorded in
    # its log as two entries, as `execution_admit` would), and its roots' rows with
    # `dispatched_at` set: their tasks go out when this transaction commits. Two
    # statements less per start than writing it pending and moving it.
    now = timezone.now()
    running = admit and bool(plan.nodes)
    if running:
        execution.status = ExecutionStatus.RUNNING
        execution.started_at = now
        execution.deadline = execution_deadline(execution, plan, now)
        execution.lock_version = 1
    execution.save(force_insert=True)
    roots = set(plan.roots)
    NodeExecution.objects.bulk_create(
        NodeExecution(execution=execution, node_id=node_id,
                      node_type=plan.node_type(node_id),
                      dispatched_at=now if running and node_id in roots else None)
        for node_id in plan.flow_nodes
    )
    if not running:
        logs_write([pending])
        if admit:  # nothing to run: it completes at once
            execution_admit(execution, plan)
        return execution
    logs_write([pending, log_entry(execution, "execution.running",
                                   data={"from": ExecutionStatus.PENDING})])
    nodes_publish(execution, plan, list(plan.roots))
    return execution


def execution_admit(execution: Execution, plan: Any) -> None:
    """Start a pending execution: running, its deadline set, its roots sent (or, with no
    node, completed at once)."""
    now = timezone.now()
    execution_transition(
        execution, ExecutionStatus.RUNNING, started_at=now,
        deadline=execution_deadline(execution, plan, now),
    )
    if plan.nodes:
        nodes_dispatch(execution, plan, plan.roots)
    else:
        execution_finish(execution, plan)


def execution_start_child(*, parent: Execution, bookmark: Any, workflow: Workflow,
                          version: Any, input: dict[str, Any],  # noqa: A002
                          graph_path: str = "", item: Any = None,
                          item_index: int | None = None) -> Execution:
    """Start a child execution for a Loop iteration or a Subworkflow node waiting on
    `bookmark` (in the caller's transaction), one level below its parent in the parent's
    tree. It reports back to that wait when it reaches a terminal status."""
    return _execution_create(
        workflow=workflow, version=version, input=input, priority=parent.priority,
        trigger="loop" if graph_path or item_index is not None else "subworkflow",
        parent=parent, parent_node=bookmark.node_id, parent_bookmark=bookmark,
        root_id=parent.root_id or parent.pk, depth=parent.depth + 1, graph_path=graph_path,
        item=item, item_index=item_index, correlation_id=parent.correlation_id,
    )


def queue_advance(*, workflow_id: Any) -> int:
    """Start queued executions of the workflow while slots are free; returns how many."""
    workflow = Workflow.objects.select_related("current_version").get(pk=workflow_id)
    limit = int(workflow.current_version.definition.get("settings", {}).get("concurrency", 0))
    started = 0
    with admission(workflow, max(limit, 1)):
        while limit <= 0 or active_count(workflow) < limit:
            with transaction.atomic():
                queued = (Execution.objects.select_for_update(skip_locked=True)
                          .select_related("version", "workflow")
                          .filter(workflow=workflow, parent__isnull=True,
                                  status=ExecutionStatus.PENDING)
                          .order_by("created_at").first())
                if queued is None:
                    return started
                execution_admit(queued, execution_plan(queued))
            started += 1
    return started
