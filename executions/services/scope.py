"""What templates see while a node runs (the node context adds `secrets`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from executions.models import NODE_SETTLED, Execution, NodeExecution, NodeStatus
from executions.selectors import execution_input
from workflows.templating import named


def template_scope(
    execution: Execution, rows: Iterable[NodeExecution], attempt: int
) -> dict[str, Any]:
    """`input`, `nodes` (outputs of finished nodes; None for skipped), `vars`, `execution`.

    A key missing from `input`, `nodes` or `vars` reads as undefined: `input.x is defined`
    and `input.x | default(...)` work, and any other use fails naming `input.x`. A Loop
    iteration's `input` is the input of the execution that runs the loop."""
    nodes = {
        row.node_id: row.output if row.status == NodeStatus.COMPLETED else None
        for row in rows
        if row.status in NODE_SETTLED
    }
    scope: dict[str, Any] = {}
    if execution.item_index is not None:  # a loop iteration
        scope = {"item": execution.item, "index": execution.item_index}
    return {
        **scope,
        "input": named("input", execution_input(execution)),
        "nodes": named("nodes", nodes),
        "vars": named("vars", execution.variables),
        "execution": {
            "id": str(execution.pk),
            "workflow": str(execution.workflow),
            "version": execution.version.number,
            "started_at": execution.started_at.isoformat() if execution.started_at else None,
            "attempt": attempt,
        },
    }
