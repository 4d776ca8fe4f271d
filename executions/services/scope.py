"""What templates see while a node runs, and keeping secrets out of what is stored."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from executions.models import Execution, NodeExecution, NodeStatus
from workflows.selectors import secret_value


class SecretsView(Mapping):
    """`secrets.<name>` in templates: decrypted on first use, remembered for redaction."""

    def __init__(self) -> None:
        self.used: dict[str, str] = {}

    def __getitem__(self, name: str) -> str:
        if name not in self.used:
            try:
                self.used[name] = secret_value(name=name)
            except Exception:  # noqa: BLE001 - a missing secret reads as undefined
                raise KeyError(name) from None
        return self.used[name]

    def __iter__(self):
        return iter(self.used)

    def __len__(self) -> int:
        return len(self.used)


def redact(value: Any, secrets: SecretsView) -> Any:
    """Replace every secret value a node used with '***' before it is stored or logged."""
    if not secrets.used:
        return value
    if isinstance(value, str):
        for secret in secrets.used.values():
            if secret:
                value = value.replace(secret, "***")
        return value
    if isinstance(value, dict):
        return {key: redact(item, secrets) for key, item in value.items()}
    if isinstance(value, list):
        return [redact(item, secrets) for item in value]
    return value


def template_scope(
    execution: Execution, rows: Iterable[NodeExecution], attempt: int
) -> dict[str, Any]:
    """`input`, `nodes` (outputs of finished nodes; None for skipped), `vars`, `execution`."""
    nodes = {
        row.node_id: row.output if row.status == NodeStatus.COMPLETED else None
        for row in rows
        if row.status in (NodeStatus.COMPLETED, NodeStatus.SKIPPED, NodeStatus.FAILED)
    }
    scope: dict[str, Any] = {}
    if execution.item_index is not None:  # a loop iteration
        scope = {"item": execution.item, "index": execution.item_index}
    return {
        **scope,
        "input": execution.input,
        "nodes": nodes,
        "vars": execution.variables,
        "execution": {
            "id": str(execution.pk),
            "workflow": str(execution.workflow),
            "version": execution.version.number,
            "started_at": execution.started_at.isoformat() if execution.started_at else None,
            "attempt": attempt,
        },
    }
