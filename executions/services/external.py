"""Two-phase records of side effects, so that a redelivered node does not repeat one.

Phase one commits the intent (the node run's idempotency key) before the call; phase two
commits the result after it. A later attempt of the same node run (a retry, a redelivery,
a lease taken over) that finds the result reuses it and does not call. The window between
the two commits cannot be closed from this side: a worker that dies after the peer acted
and before the result committed leaves an intent without a result, and the next attempt
calls again with the same key. The side effect is therefore at least once, with a stable
key; it is exactly once when the peer deduplicates by that key (docs/engine.md, "External
calls"). Nodes run outside any transaction, so each statement here commits at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import F
from django.utils import timezone

from executions.models import ExternalCall, ExternalCallStatus
from workflows.nodes.context import NodeContext


def external_call(
    context: NodeContext, request: dict[str, Any], perform: Callable[[str], dict[str, Any]]
) -> dict[str, Any]:
    """Record the intent (committed at once), call, record the result; reuse a completed one.

    An intent found without a result (an earlier attempt died or failed in the call) is
    called again with the same key: the peer may already have acted on it.
    """
    key = context.idempotency_key
    call, _ = ExternalCall.objects.get_or_create(
        idempotency_key=key,
        defaults={"execution_id": context.execution_id, "node_id": context.node_id,
                  "iteration": context.iteration, "request": context.secrets.redact(request)},
    )
    if call.status == ExternalCallStatus.COMPLETED:
        return call.response
    ExternalCall.objects.filter(pk=call.pk).update(attempts=F("attempts") + 1)
    response = perform(key)
    stored = context.secrets.redact(response)
    ExternalCall.objects.filter(pk=call.pk).update(
        status=ExternalCallStatus.COMPLETED, response=stored, completed_at=timezone.now()
    )
    return response
