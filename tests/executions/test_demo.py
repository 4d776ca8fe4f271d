"""The Quick start's demo workflow runs end to end on real workers."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from executions import services
from executions.models import Bookmark
from tests.engine import node_states, wait_for
from workflows.models import Workflow

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True),
              pytest.mark.usefixtures("worker")]


@pytest.fixture
def demo():
    call_command("load_demo", stdout=StringIO())
    return Workflow.objects.get(namespace="demo", name="order-approval")


def test_a_small_order_is_confirmed_at_once(demo):
    execution, _ = services.execution_start(workflow=demo, input={"order_id": 1, "total": 20})
    execution = wait_for(execution)
    assert execution.status == "completed", execution.error
    assert node_states(execution)["approve"] == "skipped"
    assert execution.nodes.get(node_id="summary").output == {
        "order": 1, "decision": "auto-approved"}
    assert execution.output.startswith("<") and execution.output.endswith(">")


def test_a_big_order_waits_for_a_manager(demo, client_for, user_factory):
    manager = user_factory(username="manager1")
    manager.groups.add(Group.objects.create(name="manager"))
    execution, _ = services.execution_start(workflow=demo,
                                            input={"order_id": 2, "total": 5000})
    wait_for(execution, statuses=("waiting",))
    [task] = client_for(manager).get("/api/bookmarks", {"mine": "true"}).json()["results"]
    assert task["request"]["prompt"] == "Approve order 2?"
    client_for(manager).post(f"/api/bookmarks/{task['id']}/resume", {"outcome": "approved"},
                             format="json")
    execution = wait_for(execution)
    assert execution.status == "completed", execution.error
    assert execution.nodes.get(node_id="summary").output["decision"] == "approved"
    assert Bookmark.objects.get(execution=execution).resumed_by == "manager1"
