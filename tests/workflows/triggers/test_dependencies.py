"""Dependency runs on real workers: a workflow starts when its upstreams reach their
conditions, with their outputs as its input, exactly once."""

from __future__ import annotations

import time

import pytest

from executions import services
from executions.models import Execution
from tests.engine import run, wait_for, workflow_from
from workflows.models import Workflow, WorkflowDependency
from workflows.services import workflow_update

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True),
              pytest.mark.usefixtures("worker", "test_node_types")]

NAMESPACE = "deps"


def upstream(name: str, value: object = None, **node: object) -> dict:
    """A workflow whose output is `{"out": value}`, or that runs the given node."""
    body = node or {"type": "Transform", "data": {"template": value}}
    return {"name": name, "namespace": NAMESPACE, "nodes": [{"id": "out", **body}],
            "settings": {"max_retries": 0}}


def failing(name: str) -> dict:
    return upstream(name, type="Flaky", data={"fail_times": 100})


def dependent(name: str, *dependencies: tuple[str, str]) -> dict:
    return {
        "name": name, "namespace": NAMESPACE,
        "settings": {"dependencies": [{"workflow": workflow, "condition": condition}
                                      for workflow, condition in dependencies]},
        "nodes": [{"id": "got", "type": "Transform",
                   "data": {"template": "{{ input.dependencies }}"}}],
    }


def runs_of(name: str) -> list[Execution]:
    return list(Execution.objects.filter(workflow__namespace=NAMESPACE, workflow__name=name))


def start(name: str) -> Execution:
    workflow = Workflow.objects.get(namespace=NAMESPACE, name=name)
    return services.execution_start(workflow=workflow, input={})[0]


def settled(name: str, count: int = 1, timeout: float = 30) -> list[Execution]:
    """The workflow's executions once `count` of them exist and all are terminal."""
    deadline = time.monotonic() + timeout
    while len(runs_of(name)) < count:
        assert time.monotonic() < deadline, f"{name}: {len(runs_of(name))} run(s), not {count}"
        time.sleep(0.05)
    return [wait_for(execution) for execution in runs_of(name)]


def test_a_completed_upstream_starts_its_dependent_once_with_its_output():
    # given B depends on A completing
    workflow_from(upstream("a", {"rows": 3}))
    workflow_from(dependent("b", ("a", "completed")))
    # when A runs to completion (and an unrelated workflow too)
    run(upstream("other", 0))
    a = wait_for(start("a"))
    assert a.status == "completed"
    # then B runs once with A's output, keyed by the reference as written
    [b] = settled("b")
    assert b.trigger == "dependency"
    assert b.input == {"dependencies": {"a": {"out": {"rows": 3}}}}
    assert b.status == "completed"
    assert not WorkflowDependency.objects.filter(satisfied_by__isnull=False).exists()
    assert "dependency.started" in a.logs.values_list("event", flat=True)


def test_each_completion_of_the_upstream_starts_the_dependent_again():
    workflow_from(upstream("a", 1))
    workflow_from(dependent("b", ("deps/a", "completed")))
    for _ in range(2):
        wait_for(start("a"))
    runs = settled("b", count=2)
    assert [execution.input for execution in runs] == [
        {"dependencies": {"deps/a": {"out": 1}}}] * 2


def test_a_failed_upstream_does_not_start_a_dependent_waiting_for_completion():
    # given B waits for A to complete and C for A to fail
    workflow_from(failing("a"))
    workflow_from(dependent("b", ("a", "completed")))
    workflow_from(dependent("c", ("a", "failed")))
    # when A fails
    a = wait_for(start("a"))
    assert a.status == "failed"
    # then only C starts, with A's (empty) output
    [c] = settled("c")
    assert c.input == {"dependencies": {"a": None}}
    assert runs_of("b") == []
    assert WorkflowDependency.objects.get(dependent__name="b").satisfied_by is None


def test_finished_accepts_any_terminal_status_including_cancelled():
    workflow_from(upstream("a", type="Sleep", data={"seconds": 5}))
    workflow_from(dependent("b", ("a", "finished")))
    a = start("a")

    services.execution_cancel(execution=a)

    [b] = settled("b")
    assert b.input == {"dependencies": {"a": None}}


def test_with_two_dependencies_it_starts_only_when_both_are_met():
    # given C depends on A and B
    workflow_from(upstream("a", "from a"))
    workflow_from(upstream("b", "from b"))
    workflow_from(dependent("c", ("a", "completed"), ("b", "completed")))
    # when only A completes, C waits, remembering A's run
    a = wait_for(start("a"))
    assert WorkflowDependency.objects.get(upstream_name="a").satisfied_by_id == a.pk
    assert runs_of("c") == []
    # when B completes too, C starts once with both outputs
    wait_for(start("b"))
    [c] = settled("c")
    assert c.input == {"dependencies": {"a": {"out": "from a"}, "b": {"out": "from b"}}}
    assert not WorkflowDependency.objects.filter(satisfied_by__isnull=False).exists()


def test_two_upstreams_finishing_at_once_start_the_dependent_exactly_once():
    # given C depends on A and B, which run at the same time on two worker processes
    sleep = {"type": "Sleep", "data": {"seconds": 0.5}}
    workflow_from(upstream("a", **sleep))
    workflow_from(upstream("b", **sleep))
    workflow_from(dependent("c", ("a", "completed"), ("b", "completed")))
    # when both are started at once and finish together
    started = [start("a"), start("b")]
    assert [wait_for(execution).status for execution in started] == ["completed"] * 2
    # then C ran exactly once
    [c] = settled("c")
    assert c.input == {"dependencies": {"a": {"out": {"slept": 0.5}},
                                        "b": {"out": {"slept": 0.5}}}}
    time.sleep(0.3)
    assert len(runs_of("c")) == 1


def test_an_inactive_dependent_does_not_stop_the_upstream_from_completing():
    workflow_from(upstream("a", 1))
    b = workflow_from(dependent("b", ("a", "completed")))
    workflow_update(workflow=b, actor=None, active=False)

    a = wait_for(start("a"))

    assert a.status == "completed"
    assert runs_of("b") == []
    refused = a.logs.get(event="dependency.refused")
    assert refused.level == "warning" and "inactive" in refused.message
