"""A child's end reaches its parent even when the message that says so is lost: the
sweeper settles a child that ended without being recorded. The engine is stepped here,
in this process, with the published messages kept instead of sent."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from executions import dispatch, services
from executions.models import Execution
from executions.services import children, sweeper
from tests.engine import Messages, workflow_from

pytestmark = pytest.mark.django_db


def test_a_child_whose_end_was_never_reported_is_settled_by_the_sweeper():
    # given a parent waiting on a subworkflow whose only node has just completed, and the
    # message reporting the child's end lost
    workflow_from({"name": "settle-child", "namespace": "settle", "nodes": [
        {"id": "work", "type": "Transform", "data": {"template": {"done": True}}}]})
    parent_flow = workflow_from({"name": "settle-parent", "namespace": "settle", "nodes": [
        {"id": "call", "type": "Subworkflow", "data": {"workflow": "settle-child"}}]})
    messages = Messages()
    parent, _ = messages.step(lambda: services.execution_start(workflow=parent_flow, input={}))
    messages.step(lambda: services.node_run(execution_id=str(parent.pk), node_id="call"))
    child = Execution.objects.get(parent=parent)
    messages.step(lambda: services.node_run(execution_id=str(child.pk), node_id="work"))
    child.refresh_from_db()
    assert child.status == "completed" and child.reported_at is None
    assert messages.of(dispatch.CHILD_SETTLE) == [(str(child.pk),)]  # sent, never delivered
    assert parent.nodes.get(node_id="call").status == "waiting"

    # when the sweeper runs before the message could have been late, it leaves the child
    assert messages.step(sweeper.sweep)["children_settled"] == 0

    # and once the message is overdue, it settles the child: the parent goes on
    later = timezone.now() + timedelta(seconds=settings.WORKFLOW_DISPATCH_RESEND_AFTER + 1)
    assert messages.step(lambda: sweeper.sweep(now=later))["children_settled"] == 1
    call = parent.nodes.get(node_id="call")
    assert call.status == "completed" and call.output == {"work": {"done": True}}
    parent.refresh_from_db()
    assert parent.status == "completed"

    # and the late message, or another pass, changes nothing
    assert messages.step(lambda: children.child_settle(child_id=str(child.pk))) is False
    assert messages.step(lambda: sweeper.sweep(now=later))["children_settled"] == 0
