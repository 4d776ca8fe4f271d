"""Reads of the workflows app."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import Q, QuerySet

from config.errors import NotFoundError
from workflows import encryption
from workflows.definitions import definition_diff
from workflows.errors import VersionNotFoundError
from workflows.models import Schedule, ScheduleRun, Secret, Workflow, WorkflowVersion


def workflow_list() -> QuerySet[Workflow]:
    return Workflow.objects.select_related("current_version", "owner").prefetch_related("tags")


# A workflow named in a URL: an id, or `namespace/name` whose namespace is not an id
# (`<id>/versions` stays the versions of a workflow, `<namespace>/versions` a workflow named
# `versions`).
WORKFLOW_REFERENCE_REGEX = (
    r"[^/.]+|(?![0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/)"
    r"[a-z0-9][a-z0-9_.-]*/[a-z0-9][a-z0-9_.-]*"
)


def workflow_reference_q(reference: str, *, prefix: str = "") -> Q | None:
    """The condition for a workflow named by its id or as `namespace/name` (`prefix`
    reaches it from another model, e.g. `workflow__`); None when it is neither."""
    namespace, slash, name = reference.partition("/")
    if slash:
        return Q(**{f"{prefix}namespace": namespace, f"{prefix}name": name})
    try:
        return Q(**{f"{prefix}id": uuid.UUID(reference)})
    except ValueError:
        return None


def workflow_by_reference(*, reference: str, queryset: QuerySet[Workflow]) -> Workflow:
    """The workflow a person named by its id or as `namespace/name`; 404 when none is."""
    condition = workflow_reference_q(reference)
    workflow = queryset.filter(condition).first() if condition is not None else None
    if workflow is None:
        raise NotFoundError(f"No workflow '{reference}'.", details={"workflow": reference})
    return workflow


def version_list(*, workflow: Workflow) -> QuerySet[WorkflowVersion]:
    return (workflow.versions.select_related("author").prefetch_related("co_authors")
            .order_by("-number"))


def version_get(*, workflow: Workflow, number: int) -> WorkflowVersion:
    version = (workflow.versions.select_related("author").prefetch_related("co_authors")
               .filter(number=number).first())
    if version is None:
        raise VersionNotFoundError(
            f"Workflow {workflow} has no version {number}.",
            details={"version": number},
        )
    return version


def version_diff(*, workflow: Workflow, from_number: int, to_number: int) -> dict[str, Any]:
    """Nodes, edges and fields added, removed and changed between two versions."""
    before = version_get(workflow=workflow, number=from_number)
    after = version_get(workflow=workflow, number=to_number)
    return {
        "from": from_number,
        "to": to_number,
        **definition_diff(before.definition, after.definition),
    }


def secret_list() -> QuerySet[Secret]:
    return Secret.objects.select_related("created_by").defer("ciphertext")


def secret_value(*, name: str) -> str:
    """The decrypted value, for a node about to run; never for an API response."""
    return encryption.decrypt(Secret.objects.get(name=name).ciphertext)


def secret_by_name(name: str) -> str:
    """`secret_value`, raising KeyError when there is no secret of that name (the reader
    node attempts use, workflows/nodes/secrets.py)."""
    try:
        return secret_value(name=name)
    except Secret.DoesNotExist:
        raise KeyError(name) from None


def schedule_list() -> QuerySet[Schedule]:
    return Schedule.objects.select_related("workflow")


def schedule_runs(*, schedule: Schedule) -> QuerySet[ScheduleRun]:
    """A schedule's runs, newest fire time first."""
    return schedule.runs.select_related("execution").order_by("-fire_at", "-attempt")
