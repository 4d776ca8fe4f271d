"""Writes of the monitoring app: audit entries and their retention."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from monitoring.correlation import get_client_address, get_correlation_id
from monitoring.metrics import security_event_observe
from monitoring.models import AuditAction, AuditLog


def audit_record(
    *,
    actor: Any,
    action: AuditAction,
    object_type: str,
    object_id: str = "",
    object_repr: str = "",
    before: dict | None = None,
    after: dict | None = None,
) -> AuditLog:
    """Record one change with the current request's correlation id and client address.

    Call it inside the transaction of the change it records, so both commit or neither.
    """
    user = actor if getattr(actor, "is_authenticated", False) else None
    return AuditLog.objects.create(
        actor=user,
        actor_repr=user.get_username() if user else "",
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        object_repr=object_repr[:200],
        before=before,
        after=after,
        correlation_id=get_correlation_id() or "",
        client_address=get_client_address(),
    )


def security_event_record(*, action: AuditAction, actor: Any = None, object_type: str = "user",
                          object_repr: str = "") -> AuditLog:
    """A failed login or a refused permission: an audit entry (with the client's address)
    and the `weft_security_events` counter, for alerting on guessing and probing."""
    entry = audit_record(actor=actor, action=action, object_type=object_type,
                         object_repr=object_repr)
    security_event_observe(str(action))
    return entry


def audit_log_cleanup(*, batch_size: int = 5000) -> int:
    """Delete audit entries older than the retention, in batches; returns how many."""
    cutoff = timezone.now() - timedelta(days=settings.AUDIT_RETENTION_DAYS)
    deleted = 0
    while True:
        with transaction.atomic():
            ids = list(
                AuditLog.objects.filter(created_at__lt=cutoff)
                .order_by("id")
                .values_list("id", flat=True)[:batch_size]
            )
            if not ids:
                return deleted
            deleted += AuditLog.objects.filter(id__in=ids).delete()[0]
