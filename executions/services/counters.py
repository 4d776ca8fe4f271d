"""The Counter node's store: named integers, per workflow or global, added to atomically.

A node type reaches it through its context (`NodeContext.counter_add`), never through the
models; the Counter node wraps the call in `external_call`, so a redelivered attempt gets
the value it already counted instead of counting again.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from executions.models import Counter, Execution
from workflows.nodes.context import NodeContext
from workflows.nodes.faults import ValidationFault


def counter_add(context: NodeContext, name: str, increment: int, *, per_workflow: bool) -> int:
    """Add `increment` to the counter `name` (of the execution's workflow, or the global
    one) and return its new value. An UPDATE first (row-locked, so concurrent increments
    queue); the first use creates the row, and a creation that lost the race to another
    goes back to the UPDATE."""
    if len(name) > Counter._meta.get_field("name").max_length:
        raise ValidationFault(f"Node '{context.node_id}' data.name is too long.")
    scope = "global"
    if per_workflow:
        scope = str(Execution.objects.values_list("workflow_id", flat=True)
                    .get(pk=context.execution_id))
    counters = Counter.objects.filter(scope=scope, name=name)
    while True:
        with transaction.atomic():
            if counters.update(value=F("value") + increment, updated_at=timezone.now()):
                return counters.values_list("value", flat=True).get()
        try:
            with transaction.atomic():
                Counter.objects.create(scope=scope, name=name, value=increment)
                return increment
        except IntegrityError:
            continue
