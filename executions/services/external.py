"""Two-phase records of side effects, so that a redelivered node does not repeat one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import F
from django.utils import timezone

from executions.models import ExternalCall, ExternalCallStatus
from executions.services.scope import SecretsView, redact
from workflows.nodes.context import NodeContext


def external_call(
    context: NodeContext, request: dict[str, Any], perform: Callable[[str], dict[str, Any]]
) -> dict[str, Any]:
    """Record the intent (committed at once), call, record the result; reuse a completed one."""
    key = context.idempotency_key
    call, _ = ExternalCall.objects.get_or_create(
        idempotency_key=key,
        defaults={"execution_id": context.execution_id, "node_id": context.node_id,
                  "iteration": context.iteration, "request": request},
    )
    if call.status == ExternalCallStatus.COMPLETED:
        return call.response
    ExternalCall.objects.filter(pk=call.pk).update(attempts=F("attempts") + 1)
    response = perform(key)
    secrets = context.scope.get("secrets")
    stored = redact(response, secrets) if isinstance(secrets, SecretsView) else response
    ExternalCall.objects.filter(pk=call.pk).update(
        status=ExternalCallStatus.COMPLETED, response=stored, completed_at=timezone.now()
    )
    return response
