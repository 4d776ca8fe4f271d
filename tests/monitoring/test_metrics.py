"""The engine's Prometheus metrics: counters where things happen, gauges at scrape time."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from executions import services
from executions.models import OutboxEvent
from tests.engine import workflow_from
from tests.servers import METRICS_HEADERS

pytestmark = [pytest.mark.services, pytest.mark.django_db]


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def scrape(client) -> str:
    response = client.get("/metrics", headers=METRICS_HEADERS)
    assert response.status_code == 200
    return response.content.decode()


def test_an_execution_run_in_process_is_counted_and_timed(definition,
                                                          django_capture_on_commit_callbacks):
    # given the counters as they are
    workflow = workflow_from(definition(name="metered"))
    label = f"{workflow.namespace}/{workflow.name}"
    completed = sample("weft_executions_total", workflow=label, status="completed")
    durations = sample("weft_execution_duration_seconds_count", workflow=label,
                       status="completed")
    nodes = sample("weft_node_duration_seconds_count", node_type="Transform", workflow=label,
                   status="completed")
    runs = sample("weft_node_runs_total", node_type="Transform", workflow=label,
                  status="completed")
    claims = sample("weft_engine_claims_total", result="claimed")
    completions = sample("weft_engine_completions_total", outcome="completed")
    # when an execution starts and its nodes run here (each step's commit runs its callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        execution, _ = services.execution_start(workflow=workflow, input={"name": "Ada"})
    for node_id in ("greet", "log"):
        with django_capture_on_commit_callbacks(execute=True):
            services.node_run(execution_id=str(execution.pk), node_id=node_id)
    execution.refresh_from_db()
    assert execution.status == "completed", execution.error
    # then the execution's statuses, its duration and its nodes' durations are recorded
    assert sample("weft_executions_total", workflow=label, status="completed") == completed + 1
    assert sample("weft_executions_total", workflow=label, status="running") >= 1
    assert sample("weft_execution_duration_seconds_count", workflow=label,
                  status="completed") == durations + 1
    assert sample("weft_node_duration_seconds_count", node_type="Transform", workflow=label,
                  status="completed") == nodes + 1
    # and each node's run, its claim and its completion by the engine are counted
    assert sample("weft_node_runs_total", node_type="Transform", workflow=label,
                  status="completed") == runs + 1
    assert sample("weft_engine_claims_total", result="claimed") == claims + 2
    assert sample("weft_engine_completions_total", outcome="completed") == completions + 2


def test_a_node_message_delivered_twice_is_claimed_once(definition,
                                                        django_capture_on_commit_callbacks):
    # given an execution whose first node ran
    workflow = workflow_from(definition(name="twice"))
    with django_capture_on_commit_callbacks(execute=True):
        execution, _ = services.execution_start(workflow=workflow, input={"name": "Ada"})
    with django_capture_on_commit_callbacks(execute=True):
        services.node_run(execution_id=str(execution.pk), node_id="greet")
    skipped = sample("weft_engine_claims_total", result="skipped")
    # when its message is delivered again
    with django_capture_on_commit_callbacks(execute=True):
        services.node_run(execution_id=str(execution.pk), node_id="greet")
    # then the second claim is skipped
    assert sample("weft_engine_claims_total", result="skipped") == skipped + 1


def test_a_rolled_back_change_counts_nothing(definition):
    # in a test transaction nothing commits: no callback runs, so nothing is counted
    workflow = workflow_from(definition(name="uncounted"))
    label = f"{workflow.namespace}/{workflow.name}"
    services.execution_start(workflow=workflow, input={"name": "Ada"})
    assert sample("weft_executions_total", workflow=label, status="running") == 0


def test_metrics_shows_the_engine_state_at_scrape_time(client, definition):
    # given an execution waiting on a Delay's bookmark, and its outbox events pending
    document = definition(name="gauged", nodes=[
        {"id": "pause", "type": "Delay", "data": {"seconds": 3600}}], edges=[])
    execution, _ = services.execution_start(workflow=workflow_from(document), input={})
    execution.bookmarks.create(node_id="pause", kind="timer", token="metrics-test")
    OutboxEvent.objects.filter(execution=execution).update(dead=True)
    OutboxEvent.objects.create(execution=execution, event="node.running")
    # when Prometheus scrapes the web process
    text = scrape(client)
    # then the gauges are computed from the database
    assert 'weft_executions_active{status="running"} 1.0' in text
    assert 'weft_bookmarks_open{kind="timer"} 1.0' in text
    assert 'weft_outbox_backlog{state="pending"} 1.0' in text
    assert 'weft_outbox_backlog{state="dead"} 2.0' in text
    # and the engine's counters are there too (django-prometheus's metrics are not lost)
    for name in ("weft_node_retries_total", "weft_outbox_published_total",
                 "django_http_requests_total_by_method_total"):
        assert name in text


def test_metrics_shows_each_circuit_breakers_state(client):
    from workflows.nodes.breaker import PeerBreaker, _client

    breaker = PeerBreaker("metrics-peer:9", client=_client(), fail_max=1, reset_timeout=30)
    try:
        breaker.open()
        assert 'weft_circuit_breaker_state{peer="metrics-peer:9"} 2.0' in scrape(client)
        breaker.close()
        assert 'weft_circuit_breaker_state{peer="metrics-peer:9"} 0.0' in scrape(client)
    finally:
        keys = list(_client().scan_iter(match="weft:breaker:metrics-peer:9:*"))
        if keys:
            _client().delete(*keys)
