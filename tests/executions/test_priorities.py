"""Execution priorities reach the broker: a critical execution overtakes queued low ones.

The queue is declared with `x-max-priority` 10 and workers prefetch one message each, so
RabbitMQ hands a free worker the highest-priority message it holds. To observe that
without depending on timing, the messages are all queued while no worker consumes the
queue, and then one worker of concurrency 1 starts: it must take them in priority order
(and in publishing order within a priority).
"""

from __future__ import annotations

import time

import pytest

from config.celery import app
from executions import services
from tests.engine import wait_for, workflow_from
from tests.workers import celery_worker

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

ONE_NODE = {"name": "prio", "namespace": "prio", "nodes": [
    {"id": "step", "type": "Logger", "data": {"level": "info", "message": "{{ input.n }}"}},
], "edges": []}


def _consumes(worker_name: str, queue: str) -> bool:
    replies = app.control.inspect(destination=[worker_name], timeout=1).active_queues() or {}
    return queue in {q["name"] for q in replies.get(worker_name, [])}


def _until(condition, what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def test_a_critical_execution_runs_before_the_low_ones_queued_earlier(
    worker, tmp_path, settings
):
    if not settings.CELERY_BROKER_URL.startswith("amqp"):
        pytest.skip("priorities are observed on RabbitMQ")
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    # given no worker consuming the queue (the session's worker stops consuming it)
    worker.wait_idle()
    app.control.cancel_consumer(queue, destination=[worker.name], reply=True)
    _until(lambda: not _consumes(worker.name, queue), "the session worker still consumes")
    try:
        # and executions queued lowest first: three low, a normal, a high, a critical
        flow = workflow_from(ONE_NODE)
        order = ["low", "low", "low", "normal", "high", "critical"]
        executions = [
            services.execution_start(workflow=flow, input={"n": n}, priority=priority)[0]
            for n, priority in enumerate(order)
        ]
        # when one worker of concurrency 1 starts taking them
        with celery_worker(tmp_path, concurrency=1) as single:
            for execution in executions:
                assert wait_for(execution, timeout=90).status == "completed"
            single.wait_idle()
    finally:
        app.control.add_consumer(queue, destination=[worker.name], reply=True)
        _until(lambda: _consumes(worker.name, queue), "the session worker did not resume")
    # then they ran by priority, and in the order they were queued within one priority
    started = sorted(executions, key=lambda e: e.nodes.get(node_id="step").started_at)
    assert [(e.priority, e.input["n"]) for e in started] == [
        ("critical", 5), ("high", 4), ("normal", 3), ("low", 0), ("low", 1), ("low", 2)]
