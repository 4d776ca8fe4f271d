"""Collaboration events and shared state (PostgreSQL), each change sent live to the
workflow's sockets once it is committed."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from collaboration.errors import StateFullError, StateVersionConflictError
from collaboration.models import CollaborationEvent, EventKind, Room, SharedState
from collaboration.services.live import group_send

# --- Events (PostgreSQL) -------------------------------------------------------------------


def event_public(event: CollaborationEvent) -> dict[str, Any]:
    return {"seq": event.seq, "kind": event.kind,
            "user": event.user.get_username() if event.user_id else None,
            "data": event.data, "created_at": event.created_at.isoformat()}


def event_record(*, workflow: Any, kind: str, user: Any = None,
                 data: dict[str, Any] | None = None) -> CollaborationEvent:
    """Store the workflow's next event and, once committed, send it to its sockets.

    The number comes from the workflow's `Room` row, locked until the commit: events of
    one workflow are numbered and committed in order."""
    with transaction.atomic():
        room, _ = Room.objects.select_for_update().get_or_create(workflow_id=workflow.pk)
        room.last_seq += 1
        Room.objects.filter(pk=room.pk).update(last_seq=room.last_seq)
        event = CollaborationEvent.objects.create(
            workflow_id=workflow.pk, seq=room.last_seq, kind=kind,
            user=user if getattr(user, "is_authenticated", False) else None,
            data=data or {})
        message = {"type": "collaboration.event", "event": event_public(event)}
        transaction.on_commit(lambda: group_send(workflow.pk, message))
    return event


# --- Shared state (PostgreSQL) -------------------------------------------------------------


def state_put(*, workflow: Any, key: str, value: Any, user: Any,
              version: int | None = None) -> SharedState:
    """Set a key of the workflow's shared state. With `version`, only when the key is at
    that version now (0: only when it does not exist yet); the new version is one more."""
    with transaction.atomic():
        row = (SharedState.objects.select_for_update()
               .filter(workflow=workflow, key=key).first())
        current = row.version if row is not None else 0
        if version is not None and version != current:
            raise StateVersionConflictError(
                f"The key '{key}' is at version {current}, not {version}: read it again "
                "and write on that.", details={"key": key, "version": current})
        if row is None:
            if SharedState.objects.filter(workflow=workflow).count() >= \
                    settings.COLLABORATION_STATE_MAX_KEYS:
                raise StateFullError(
                    f"The workflow's shared state holds "
                    f"{settings.COLLABORATION_STATE_MAX_KEYS} keys, the most it may.",
                    details={"max_keys": settings.COLLABORATION_STATE_MAX_KEYS})
            row = SharedState(workflow=workflow, key=key, version=0)
        row.value = value
        row.version = current + 1
        row.updated_by = user
        row.updated_at = timezone.now()
        row.save()
        event_record(workflow=workflow, kind=EventKind.STATE_CHANGED, user=user,
                     data={"key": key, "version": row.version})
    return row


def state_delete(*, workflow: Any, key: str, user: Any, version: int | None = None) -> bool:
    """Remove a key of the shared state (with `version`, only at that version); False when
    there was none."""
    with transaction.atomic():
        row = (SharedState.objects.select_for_update()
               .filter(workflow=workflow, key=key).first())
        if row is None:
            return False
        if version is not None and version != row.version:
            raise StateVersionConflictError(
                f"The key '{key}' is at version {row.version}, not {version}.",
                details={"key": key, "version": row.version})
        row.delete()
        event_record(workflow=workflow, kind=EventKind.STATE_CHANGED, user=user,
                     data={"key": key, "version": None, "deleted": True})
    return True
