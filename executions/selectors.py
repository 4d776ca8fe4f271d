"""Reads of the executions app."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from executions.models import Execution, ExecutionLog, NodeExecution


def execution_list() -> QuerySet[Execution]:
    return Execution.objects.select_related("workflow", "version", "started_by")


def execution_detail_list() -> QuerySet[Execution]:
    return execution_list().prefetch_related(
        Prefetch("nodes", queryset=NodeExecution.objects.order_by("id"))
    )


def execution_logs(*, execution: Execution) -> QuerySet[ExecutionLog]:
    return execution.logs.order_by("id")
