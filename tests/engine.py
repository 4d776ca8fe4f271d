"""The reusable helper of engine tests: run a workflow on real workers to a terminal state."""

from __future__ import annotations

import time
from typing import Any
from unittest import mock

from django.test import TestCase

from executions import dispatch, services
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


def attempt(node_type: type, data: dict[str, Any], *, node_id: str = "node",
            execution_id: str | None = None, run_external: Any = None,
            **input: Any) -> tuple[Any, Any]:
    """One attempt of a node type in this process, its data rendered as the engine does."""
    import uuid

    from workflows.nodes.context import NodeContext

    node = node_type()
    context = NodeContext(execution_id=execution_id or str(uuid.uuid4()), node_id=node_id,
                          node_type=node_type.name, attempt=1, raw_data=data,
                          scope={"input": input}, run_external=run_external)
    node.preprocess(context)
    return node, context


def attempt_output(node_type: type, data: dict[str, Any], **options: Any) -> Any:
    node, context = attempt(node_type, data, **options)
    return node.execute(context)


def attempt_fault(node_type: type, data: dict[str, Any], **options: Any) -> Any:
    """The fault an attempt raises (the test fails if it raises none)."""
    import pytest

    from workflows.nodes.faults import NodeFault

    with pytest.raises(NodeFault) as raised:
        attempt_output(node_type, data, **options)
    return raised.value


class Messages:
    """What the engine published, kept instead of sent: the engine stepped in this
    process (`step` runs an action and its on-commit callbacks), no worker involved."""

    def __init__(self) -> None:
        self.sent: list[dispatch.Message] = []

    def step(self, action):
        with mock.patch.object(dispatch, "publish", side_effect=self.sent.extend), \
                TestCase.captureOnCommitCallbacks(execute=True):
            return action()

    def of(self, task: str) -> list[tuple]:
        return [message.args for message in self.sent if message.task == task]
