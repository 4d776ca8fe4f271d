"""The reusable helper of engine tests: run a workflow on real workers to a terminal state."""

from __future__ import annotations

import time
from typing import Any

from executions import services
from executions.models import EXECUTION_TERMINAL, Execution
from workflows import services as workflow_services
from workflows.models import Workflow


def workflow_from(definition: dict[str, Any], actor: Any = None) -> Workflow:
    return workflow_services.workflow_create(definition=definition, actor=actor)


def wait_for(
    execution: Execution, *, statuses=EXECUTION_TERMINAL, timeout: float = 60
) -> Execution:
    """Poll the database (the truth) until the execution reaches one of `statuses`."""
    deadline = time.monotonic() + timeout
    while True:
        execution.refresh_from_db()
        if execution.status in statuses:
            return execution
        if time.monotonic() > deadline:
            nodes = {n.node_id: n.status for n in execution.nodes.all()}
            raise AssertionError(f"execution still {execution.status} after {timeout}s: {nodes}")
        time.sleep(0.05)


def run(definition: dict[str, Any], input: dict[str, Any] | None = None,  # noqa: A002
        **options: Any) -> Execution:
    """Create the workflow, start it, and return the execution once it is terminal."""
    workflow = workflow_from(definition)
    execution, _ = services.execution_start(workflow=workflow, input=input or {}, **options)
    return wait_for(execution)


def node_states(execution: Execution) -> dict[str, str]:
    return {node.node_id: node.status for node in execution.nodes.all()}
