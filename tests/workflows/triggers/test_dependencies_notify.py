"""dependents_notify inside the terminal transition: cheap, atomic with it, top level only."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.utils import timezone

from executions import services
from executions.models import Execution, ExecutionStatus
from executions.services.transitions import execution_transition
from tests.engine import workflow_from
from workflows.models import WorkflowDependency
from workflows.triggers.dependencies import dependents_notify

pytestmark = pytest.mark.django_db


def definition(name: str, *upstreams: str) -> dict:
    return {"name": name, "namespace": "notify",
            "settings": {"dependencies": [{"workflow": up} for up in upstreams]},
            "nodes": [{"id": "out", "type": "Transform", "data": {"template": 1}}]}


def running(name: str) -> Execution:
    """A started execution (its tasks go out on commit, which a test never reaches)."""
    return services.execution_start(workflow=workflow_from(definition(name)), input={})[0]


def complete(execution: Execution) -> None:
    execution_transition(execution, ExecutionStatus.COMPLETED, output={"out": 1},
                         finished_at=timezone.now())


def test_a_workflow_nothing_depends_on_costs_one_query(django_assert_num_queries):
    execution = running("alone")
    execution.status = ExecutionStatus.COMPLETED

    with django_assert_num_queries(1):
        assert dependents_notify(execution=execution) == []


def test_the_dependent_starts_in_the_upstreams_transaction_or_not_at_all():
    upstream = running("up")
    dependent = workflow_from(definition("down", "up"))

    with pytest.raises(RuntimeError), transaction.atomic():
        complete(upstream)
        assert Execution.objects.filter(workflow=dependent, trigger="dependency").exists()
        raise RuntimeError("the process dies before the commit")

    upstream.refresh_from_db()
    assert upstream.status == ExecutionStatus.RUNNING
    assert not Execution.objects.filter(workflow=dependent).exists()
    assert WorkflowDependency.objects.get(dependent=dependent).satisfied_by is None


def test_a_child_execution_does_not_satisfy_a_dependency():
    parent = running("parent")
    child = running("child")
    Execution.objects.filter(pk=child.pk).update(parent=parent)
    child.parent_id = parent.pk
    dependent = workflow_from(definition("after-child", "child"))

    complete(child)

    assert not Execution.objects.filter(workflow=dependent).exists()
    assert WorkflowDependency.objects.get(dependent=dependent).satisfied_by is None


def test_a_repeated_notification_of_the_same_run_starts_nothing_new():
    upstream = running("again")
    dependent = workflow_from(definition("twice", "again"))
    complete(upstream)

    dependents_notify(execution=upstream)

    assert Execution.objects.filter(workflow=dependent).count() == 1
