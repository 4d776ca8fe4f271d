"""Writes of the workflows app: workflows, versions, imports and secrets.

Every service validates, writes and records its audit entry in one transaction.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max

from config.live import group_send
from monitoring.models import AuditAction
from monitoring.services import audit_record
from workflows import encryption
from workflows.definitions import (
    DefinitionSyntaxError,
    definition_checksum,
    definition_load,
    definition_normalize,
    definition_validate,
)
from workflows.errors import (
    DefinitionInvalidError,
    DefinitionSyntaxInvalidError,
    DependencyCycleError,
    SecretConflictError,
    VersionConflictError,
    WorkflowConflictError,
)
from workflows.models import (
    EventSubscription,
    Secret,
    Tag,
    Workflow,
    WorkflowDependency,
    WorkflowVersion,
)
from workflows.permissions import trigger_arm_check

logger = logging.getLogger(__name__)


def workflow_versions_group(workflow_id: Any) -> str:
    """The Channels group told of each new version of a workflow (the shared draft's
    sockets listen, to merge a version saved outside the draft)."""
    return f"workflow.versions.{workflow_id}"


def _version_announce(workflow_id: Any, number: int) -> None:
    try:
        group_send(workflow_versions_group(workflow_id),
                   {"type": "workflow.version", "number": number})
    except Exception:  # noqa: BLE001 - a draft open now merges the version when next read
        logger.exception("new version %s of workflow %s not announced", number, workflow_id)


def _user(actor: Any) -> Any:
    return actor if getattr(actor, "is_authenticated", False) else None


def _snapshot(workflow: Workflow) -> dict[str, Any]:
    version = workflow.current_version
    return {
        "namespace": workflow.namespace,
        "name": workflow.name,
        "description": workflow.description,
        "active": workflow.active,
        "tags": sorted(tag.name for tag in workflow.tags.all()),
        "version": version.number if version else None,
        "checksum": version.checksum if version else None,
    }


def _validated(definition: dict[str, Any]) -> dict[str, Any]:
    report = definition_validate(definition)
    if not report.ok:
        raise DefinitionInvalidError(report)
    return definition_normalize(definition)


def _set_tags(workflow: Workflow, tags: list[str]) -> None:
    names = sorted({tag.strip() for tag in tags if tag.strip()})
    objects = [Tag.objects.get_or_create(name=name)[0] for name in names]
    workflow.tags.set(objects)


def _name_taken(namespace: str, name: str, exclude: Workflow | None = None) -> bool:
    query = Workflow.objects.filter(namespace=namespace, name=name)
    if exclude is not None:
        query = query.exclude(pk=exclude.pk)
    return query.exists()


def _conflict(namespace: str, name: str) -> WorkflowConflictError:
    return WorkflowConflictError(
        f"A workflow named '{name}' already exists in namespace '{namespace}'.",
        details={"fields": {"name": [f"'{namespace}/{name}' is taken."]}},
    )


def _reference(reference: str, namespace: str) -> tuple[str, str]:
    """(namespace, name) of a workflow reference: 'name' in `namespace`, or 'namespace/name'."""
    if "/" in reference:
        ref_namespace, _, name = reference.partition("/")
        return ref_namespace, name
    return namespace, reference


def _dependency_cycle(workflow: Workflow, node: tuple[str, str],
                      upstreams: list[tuple[str, str]]) -> list[str]:
    """The workflows of a dependency cycle the new `upstreams` of `node` would close, or []."""
    edges: dict[tuple[str, str], set[tuple[str, str]]] = {}
    others = WorkflowDependency.objects.exclude(dependent=workflow)
    for dependent_ns, dependent_name, up_ns, up_name in others.values_list(
        "dependent__namespace", "dependent__name", "upstream_namespace", "upstream_name"
    ):
        edges.setdefault((dependent_ns, dependent_name), set()).add((up_ns, up_name))
    edges[node] = set(upstreams)
    path: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()

    def visit(current: tuple[str, str]) -> bool:
        if current == node and path:
            return True
        if current in seen:
            return False
        seen.add(current)
        path.append(current)
        if any(visit(upstream) for upstream in sorted(edges.get(current, ()))):
            return True
        path.pop()
        return False

    if visit(node):
        return [f"{namespace}/{name}" for namespace, name in [*path, node]]
    return []


def _triggers_sync(workflow: Workflow, definition: dict[str, Any], actor: Any) -> None:
    """Rebuild the workflow's event subscriptions and dependency edges from its definition;
    a dependency that would close a cycle between workflows is refused, and a new event
    subscription or dependency needs workflow.execute (it starts runs)."""
    namespace = definition.get("namespace", workflow.namespace)
    upstreams: dict[tuple[str, str], str] = {}
    for dependency in definition.get("settings", {}).get("dependencies", []):
        upstreams[_reference(dependency["workflow"], namespace)] = dependency["condition"]
    node = (namespace, definition.get("name", workflow.name))
    cycle = _dependency_cycle(workflow, node, list(upstreams))
    if cycle:
        raise DependencyCycleError(
            "settings.dependencies would make a cycle between workflows: "
            + " -> ".join(cycle),
            details={"fields": {"settings.dependencies": [" -> ".join(cycle)]},
                     "cycle": cycle},
        )
    kept = {(row.upstream_namespace, row.upstream_name): row
            for row in workflow.dependencies.all()}
    events = {trigger["event"] for trigger in definition.get("triggers", [])}
    existing = set(workflow.event_subscriptions.values_list("event", flat=True))
    if events - existing or any(key not in kept or kept[key].condition != condition
                                for key, condition in upstreams.items()):
        trigger_arm_check(actor=actor, what="A new event trigger or dependency")
    for key, row in kept.items():
        if key not in upstreams:
            row.delete()
        elif row.condition != upstreams[key]:
            row.condition = upstreams[key]
            row.save(update_fields=["condition"])
    WorkflowDependency.objects.bulk_create(
        WorkflowDependency(dependent=workflow, upstream_namespace=up_ns, upstream_name=up_name,
                           condition=condition)
        for (up_ns, up_name), condition in upstreams.items() if (up_ns, up_name) not in kept
    )
    workflow.event_subscriptions.exclude(event__in=events).delete()
    EventSubscription.objects.bulk_create(
        EventSubscription(workflow=workflow, event=event) for event in sorted(events - existing)
    )


def _has_triggers(workflow: Workflow) -> bool:
    """Whether something starts runs of the workflow without a person once it is active."""
    return (workflow.schedules.filter(enabled=True).exists()
            or workflow.webhooks.filter(enabled=True).exists()
            or workflow.event_subscriptions.exists() or workflow.dependencies.exists())


def _version_add(
    *, workflow: Workflow, definition: dict[str, Any], number: int, actor: Any, change_note: str
) -> WorkflowVersion:
    _triggers_sync(workflow, definition, actor)
    transaction.on_commit(lambda: _version_announce(workflow.pk, number))
    return WorkflowVersion.objects.create(
        workflow=workflow,
        number=number,
        definition=definition,
        checksum=definition_checksum(definition),
        author=_user(actor),
        change_note=change_note,
    )


def workflow_create(
    *,
    definition: dict[str, Any],
    actor: Any,
    tags: list[str] | None = None,
    active: bool = True,
    change_note: str = "",
) -> Workflow:
    """Create a workflow and its version 1 from a valid definition."""
    normalized = _validated(definition)
    namespace, name = normalized["namespace"], normalized["name"]
    try:
        with transaction.atomic():
            if _name_taken(namespace, name):
                raise _conflict(namespace, name)
            workflow = Workflow.objects.create(
                namespace=namespace,
                name=name,
                description=normalized.get("description", ""),
                owner=_user(actor),
                active=active,
            )
            _set_tags(workflow, tags or [])
            workflow.current_version = _version_add(
                workflow=workflow, definition=normalized, number=1, actor=actor,
                change_note=change_note or "Created",
            )
            workflow.save(update_fields=["current_version"])
            audit_record(
                actor=actor, action=AuditAction.CREATE, object_type="workflow",
                object_id=workflow.pk, object_repr=str(workflow), after=_snapshot(workflow),
            )
    except IntegrityError:
        raise _conflict(namespace, name) from None
    return workflow


def workflow_update(
    *,
    workflow: Workflow,
    actor: Any,
    definition: dict[str, Any] | None = None,
    tags: list[str] | None = None,
    active: bool | None = None,
    change_note: str = "",
    base_version: int | None = None,
) -> tuple[Workflow, bool]:
    """Change a workflow; a definition that differs from the current one adds a version.

    `base_version` is the version the caller edited: if another save came first, the
    update is refused with a conflict instead of silently overwriting that save.
    Returns the workflow and whether a version was created.
    """
    normalized = _validated(definition) if definition is not None else None
    version_created = False
    try:
        with transaction.atomic():
            locked = (
                Workflow.objects.select_for_update(of=("self",))
                .select_related("current_version")
                .get(pk=workflow.pk)
            )
            before = _snapshot(locked)
            current = locked.current_version
            if base_version is not None and current and current.number != base_version:
                raise VersionConflictError(
                    f"The workflow is at version {current.number}, not {base_version}: "
                    "reload it and apply your change again.",
                    details={"current_version": current.number, "base_version": base_version},
                )
            if normalized is not None and (
                current is None or definition_checksum(normalized) != current.checksum
            ):
                namespace, name = normalized["namespace"], normalized["name"]
                if _name_taken(namespace, name, exclude=locked):
                    raise _conflict(namespace, name)
                latest = locked.versions.aggregate(latest=Max("number"))["latest"] or 0
                locked.current_version = _version_add(
                    workflow=locked, definition=normalized, number=latest + 1, actor=actor,
                    change_note=change_note,
                )
                locked.namespace, locked.name = namespace, name
                locked.description = normalized.get("description", "")
                version_created = True
            if active and not locked.active and _has_triggers(locked):
                trigger_arm_check(actor=actor, what="Activating a workflow with triggers")
            if active is not None:
                locked.active = active
            locked.save()
            if tags is not None:
                _set_tags(locked, tags)
            after = _snapshot(locked)
            if after != before:
                audit_record(
                    actor=actor, action=AuditAction.UPDATE, object_type="workflow",
                    object_id=locked.pk, object_repr=str(locked), before=before, after=after,
                )
    except IntegrityError:
        raise _conflict(normalized["namespace"], normalized["name"]) from None
    return locked, version_created


def workflow_delete(*, workflow: Workflow, actor: Any) -> None:
    """Delete a workflow with its versions."""
    with transaction.atomic():
        audit_record(
            actor=actor, action=AuditAction.DELETE, object_type="workflow",
            object_id=workflow.pk, object_repr=str(workflow), before=_snapshot(workflow),
        )
        workflow.delete()


def workflow_import(
    *, document: str | bytes, fmt: str | None, actor: Any, change_note: str = ""
) -> tuple[Workflow, bool, bool]:
    """Create or update the workflow a JSON or YAML document names.

    Returns the workflow, whether it was created, and whether a version was created.
    """
    try:
        definition = definition_load(document, fmt=fmt)
    except DefinitionSyntaxError as exc:
        raise DefinitionSyntaxInvalidError(exc.problem) from None
    normalized = _validated(definition)
    existing = Workflow.objects.filter(
        namespace=normalized["namespace"], name=normalized["name"]
    ).first()
    if existing is None:
        workflow = workflow_create(
            definition=normalized, actor=actor, change_note=change_note or "Imported"
        )
        return workflow, True, True
    workflow, version_created = workflow_update(
        workflow=existing, actor=actor, definition=normalized,
        change_note=change_note or "Imported",
    )
    return workflow, False, version_created


def _secret_snapshot(secret: Secret) -> dict[str, Any]:
    return {"name": secret.name, "description": secret.description}


def secret_create(*, name: str, value: str, description: str = "", actor: Any) -> Secret:
    """Store a new secret, encrypted with the newest key."""
    try:
        with transaction.atomic():
            secret = Secret.objects.create(
                name=name, description=description, ciphertext=encryption.encrypt(value),
                created_by=_user(actor),
            )
            audit_record(
                actor=actor, action=AuditAction.CREATE, object_type="secret",
                object_id=secret.pk, object_repr=secret.name, after=_secret_snapshot(secret),
            )
    except IntegrityError:
        raise SecretConflictError(
            f"A secret named '{name}' already exists.",
            details={"fields": {"name": [f"'{name}' is taken."]}},
        ) from None
    return secret


def secret_update(
    *, secret: Secret, actor: Any, value: str | None = None, description: str | None = None
) -> Secret:
    """Replace a secret's value or description; the old value is not kept."""
    with transaction.atomic():
        before = _secret_snapshot(secret)
        if value is not None:
            secret.ciphertext = encryption.encrypt(value)
        if description is not None:
            secret.description = description
        secret.save()
        after = {**_secret_snapshot(secret), "value_changed": value is not None}
        audit_record(
            actor=actor, action=AuditAction.UPDATE, object_type="secret",
            object_id=secret.pk, object_repr=secret.name, before=before, after=after,
        )
    return secret


def secret_delete(*, secret: Secret, actor: Any) -> None:
    with transaction.atomic():
        audit_record(
            actor=actor, action=AuditAction.DELETE, object_type="secret",
            object_id=secret.pk, object_repr=secret.name, before=_secret_snapshot(secret),
        )
        secret.delete()


def secrets_rotate(*, actor: Any = None) -> int:
    """Re-encrypt every secret with the newest key of SECRETS_KEYS; returns how many."""
    count = 0
    with transaction.atomic():
        for secret in Secret.objects.select_for_update().order_by("pk"):
            secret.ciphertext = encryption.reencrypt(secret.ciphertext)
            secret.save(update_fields=["ciphertext"])
            count += 1
        audit_record(
            actor=actor, action=AuditAction.ROTATE, object_type="secret",
            object_repr="all secrets", after={"reencrypted": count},
        )
    return count
