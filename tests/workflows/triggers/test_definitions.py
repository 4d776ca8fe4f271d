"""Saving a version keeps its event subscriptions and dependency edges in step."""

from __future__ import annotations

import pytest

from workflows.errors import DependencyCycleError
from workflows.models import EventSubscription, Workflow, WorkflowDependency
from workflows.services import workflow_create, workflow_update

pytestmark = pytest.mark.django_db


def _definition(name: str, *, dependencies=(), events=()) -> dict:
    return {
        "name": name,
        "settings": {"dependencies": [{"workflow": up} for up in dependencies]},
        "triggers": [{"event": event} for event in events],
        "nodes": [{"id": "log", "type": "Logger", "data": {"message": "hi"}}],
    }


def test_saved_triggers_become_subscriptions_and_follow_new_versions():
    workflow = workflow_create(definition=_definition("orders", events=["order.created"]),
                               actor=None)
    assert list(EventSubscription.objects.values_list("event", flat=True)) == ["order.created"]

    workflow_update(workflow=workflow, actor=None,
                    definition=_definition("orders", events=["order.paid", "order.shipped"]))

    assert sorted(workflow.event_subscriptions.values_list("event", flat=True)) == [
        "order.paid", "order.shipped"]


def test_dependencies_are_stored_by_name_even_before_the_upstream_exists():
    workflow = workflow_create(definition=_definition("report", dependencies=["sales/extract"]),
                               actor=None)

    edge = WorkflowDependency.objects.get(dependent=workflow)
    assert (edge.upstream_namespace, edge.upstream_name, edge.condition) == (
        "sales", "extract", "completed")


def test_a_dependency_cycle_between_workflows_is_refused_and_nothing_is_saved():
    workflow_create(definition=_definition("extract"), actor=None)
    workflow_create(definition=_definition("transform", dependencies=["extract"]), actor=None)
    load = workflow_create(definition=_definition("load", dependencies=["transform"]), actor=None)
    extract = Workflow.objects.get(name="extract")

    with pytest.raises(DependencyCycleError) as raised:
        workflow_update(workflow=extract, actor=None,
                        definition=_definition("extract", dependencies=["load"]))

    assert raised.value.details["cycle"] == [
        "default/extract", "default/load", "default/transform", "default/extract"]
    assert extract.versions.count() == 1
    assert not WorkflowDependency.objects.filter(dependent=extract).exists()
    assert load.dependencies.count() == 1


def test_a_workflow_depending_on_itself_is_refused():
    with pytest.raises(DependencyCycleError):
        workflow_create(definition=_definition("loop", dependencies=["loop"]), actor=None)
    assert not Workflow.objects.filter(name="loop").exists()
