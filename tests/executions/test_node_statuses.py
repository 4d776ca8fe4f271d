"""The node run's statuses: one transition table beside the execution's, and the one
guarded move (`executions.store.node_move`) the engine changes them with."""

from __future__ import annotations

import pytest
from django.utils import timezone

from executions.models import (
    NODE_TERMINAL,
    NODE_TRANSITIONS,
    Execution,
    NodeExecution,
    NodeStatus,
    node_sources,
)
from executions.store import node_move
from tests.engine import workflow_from


def test_every_status_has_its_moves_and_an_ended_run_only_starts_afresh():
    assert set(NODE_TRANSITIONS) == set(NodeStatus.values)
    for status in NODE_TERMINAL:
        assert NODE_TRANSITIONS[status] == {NodeStatus.PENDING}
    assert set(node_sources(NodeStatus.PENDING)) == set(NodeStatus.values)
    assert set(node_sources(NodeStatus.COMPLETED)) == {NodeStatus.RUNNING, NodeStatus.WAITING}
    assert set(node_sources(NodeStatus.RUNNING)) == {
        NodeStatus.PENDING, NodeStatus.RETRYING, NodeStatus.RUNNING}
    assert set(node_sources(NodeStatus.SKIPPED)) == {NodeStatus.PENDING}


@pytest.fixture
def row(db):
    workflow = workflow_from({"name": "moves", "namespace": "statuses", "nodes": [
        {"id": "step", "type": "Logger", "data": {"message": "hi"}}], "edges": []})
    execution = Execution.objects.create(workflow=workflow, version=workflow.current_version,
                                         status="running", started_at=timezone.now())
    return NodeExecution.objects.create(execution=execution, node_id="step",
                                        node_type="Logger", status="completed", attempt=1,
                                        output={"logged": "hi"})


def test_a_move_the_table_refuses_changes_nothing(row):
    rows = NodeExecution.objects.filter(pk=row.pk)
    # a completed run cannot be taken, failed, skipped or cancelled
    for to in (NodeStatus.RUNNING, NodeStatus.FAILED, NodeStatus.SKIPPED, NodeStatus.CANCELLED):
        assert node_move(rows, to, error={"message": "late"}) == 0
    row.refresh_from_db()
    assert row.status == "completed" and row.error is None and row.output == {"logged": "hi"}
    # but it may start afresh (a retry from this node)
    assert node_move(rows, NodeStatus.PENDING, attempt=0, output=None) == 1
    row.refresh_from_db()
    assert (row.status, row.attempt, row.output) == ("pending", 0, None)
    # and a pending run may be skipped, after which it is ended
    assert node_move(rows, NodeStatus.SKIPPED) == 1
    assert node_move(rows, NodeStatus.RUNNING) == 0
