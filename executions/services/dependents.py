"""Dependency runs: a workflow starts once every workflow of its `settings.dependencies`
has reached its condition since its last dependency run (docs/dependencies.md).

The transaction that ends a top-level execution does not start its dependents: it checks
with one indexed query whether any wait for it, and if so leaves its
`dependents_notified_at` empty and sends `executions.dependents_notify` after the commit.
That task (`dependents_settle`) tells them once, in a transaction of its own that also
sets the mark; the sweeper does it for a run whose message was lost. A retry of a failed
run tells its dependents of the failure first, if that has not happened yet.
"""

from __future__ import annotations

import hashlib
import logging
from itertools import groupby
from typing import Any

from django.db import transaction
from django.utils import timezone

from config.errors import ApplicationError
from executions.models import EXECUTION_TERMINAL, Execution
from executions.services.start import execution_start
from executions.services.transitions import log_entry, logs_write
from executions.store import dependency_conditions, dependents_of
from workflows.models import Workflow, WorkflowDependency

logger = logging.getLogger(__name__)


def _references(dependent: Workflow) -> dict[tuple[str, str], str]:
    """(namespace, name) of each upstream -> the reference as written in the definition."""
    definition = dependent.current_version.definition if dependent.current_version else {}
    namespace = definition.get("namespace", dependent.namespace)
    references = {}
    for entry in definition.get("settings", {}).get("dependencies", []):
        reference = entry["workflow"]
        up_namespace, _, up_name = reference.rpartition("/")
        references[(up_namespace or namespace, up_name)] = reference
    return references


def _idempotency_key(dependent_id: Any, rows: list[WorkflowDependency]) -> str:
    satisfying = ",".join(sorted(str(row.satisfied_by_id) for row in rows))
    return f"dependency:{dependent_id}:{hashlib.sha256(satisfying.encode()).hexdigest()[:40]}"


def _dependent_start(upstream: Execution, dependent: Workflow,
                     rows: list[WorkflowDependency]) -> Execution | None:
    """Start the dependent with its upstreams' outputs; a refusal is logged on the upstream
    execution and does not stop it from finishing."""
    outputs = dict(Execution.objects.filter(
        pk__in=[row.satisfied_by_id for row in rows]).values_list("pk", "output"))
    references = _references(dependent)
    input_ = {"dependencies": {
        references.get((row.upstream_namespace, row.upstream_name),
                       f"{row.upstream_namespace}/{row.upstream_name}"):
            outputs.get(row.satisfied_by_id)
        for row in rows
    }}
    try:
        with transaction.atomic():
            started, _ = execution_start(
                workflow=dependent, input=input_, trigger="dependency",
                idempotency_key=_idempotency_key(dependent.pk, rows),
                correlation_id=upstream.correlation_id,
            )
    except ApplicationError as exc:
        logger.warning("dependency run of %s not started: %s (%s)", dependent, exc.message,
                       exc.code)
        logs_write([log_entry(upstream, "dependency.refused", level="warning",
                              message=f"{dependent} was not started: {exc.message}",
                              data={"workflow": str(dependent.pk), "code": str(exc.code)})])
        return None
    logs_write([log_entry(upstream, "dependency.started",
                          data={"workflow": str(dependent.pk), "execution": str(started.pk)})])
    return started


def dependents_notify(*, execution: Execution) -> list[Execution]:
    """Record that a top-level execution reached its terminal status and start each
    dependent whose dependencies are now all satisfied (once: the rows are cleared).

    It costs one indexed query when nothing depends on the execution's workflow. Returns
    the executions started. `dependents_settle` calls it once per ended run.
    """
    conditions = dependency_conditions(execution.status)
    if execution.parent_id or not conditions:
        return []
    affected = list(dependents_of(execution.workflow_id, execution.status)
                    .values_list("dependent_id", flat=True).distinct())
    if not affected:
        return []
    started: list[Execution] = []
    with transaction.atomic():
        # Every row of every affected dependent, locked in one global order (pk) so that
        # upstreams finishing at once queue here instead of deadlocking.
        rows = list(WorkflowDependency.objects.select_for_update()
                    .filter(dependent_id__in=affected).order_by("pk"))
        workflow = Workflow.objects.only("namespace", "name").get(pk=execution.workflow_id)
        now = timezone.now()
        rows.sort(key=lambda row: (str(row.dependent_id), row.pk))
        for dependent_id, group in groupby(rows, key=lambda row: row.dependent_id):
            dependent_rows = list(group)
            for row in dependent_rows:
                if ((row.upstream_namespace, row.upstream_name) == (workflow.namespace,
                                                                    workflow.name)
                        and row.condition in conditions):
                    row.satisfied_by_id, row.satisfied_at = execution.pk, now
                    row.save(update_fields=["satisfied_by", "satisfied_at"])
            if not all(row.satisfied_by_id for row in dependent_rows):
                continue
            dependent = Workflow.objects.select_related("current_version").get(
                pk=dependent_id)
            run = _dependent_start(execution, dependent, dependent_rows)
            if run is not None:
                started.append(run)
            WorkflowDependency.objects.filter(dependent_id=dependent_id).update(
                satisfied_by=None, satisfied_at=None)
    return started


def dependents_settle(*, execution_id: Any) -> bool:
    """Tell the dependents of an ended top-level run of its end, once (the message after
    its end commits, or the sweeper's pass when that was lost): under the run's row lock,
    only while its `dependents_notified_at` is empty, which this sets. False when there
    was nothing to do."""
    with transaction.atomic():
        execution = Execution.objects.select_for_update(of=("self",)).filter(
            pk=execution_id).first()
        return execution is not None and dependents_settle_locked(execution)


def dependents_settle_locked(execution: Execution) -> bool:
    """`dependents_settle` for a run whose row the caller holds locked (a retry, before
    the run goes on)."""
    if (execution.parent_id or execution.dependents_notified_at is not None
            or execution.status not in EXECUTION_TERMINAL):
        return False
    dependents_notify(execution=execution)
    now = timezone.now()
    Execution.objects.filter(pk=execution.pk).update(dependents_notified_at=now)
    execution.dependents_notified_at = now
    return True
