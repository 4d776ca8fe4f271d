"""A worker process killed with SIGKILL in the middle of an HTTP call loses nothing."""

from __future__ import annotations

import os
import signal
import time

import psutil
import pytest

from executions import services
from executions.models import ExternalCall
from executions.services import sweeper
from tests.engine import workflow_from
from tests.executions.conftest import Answer

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_a_killed_worker_process_costs_a_retry_not_a_duplicate_or_a_stuck_node(
    worker, http_peer
):
    # given a payment endpoint that takes three seconds on its first call
    http_peer.script("/charge", Answer(200, json={"charged": True}, delay=3),
                     Answer(200, json={"charged": True}))
    flow = workflow_from({"name": "charge", "namespace": "kill", "nodes": [{
        "id": "call", "type": "HttpRequest", "timeout": 5,
        "data": {"url": http_peer.url("/charge"), "method": "POST", "json": {"amount": 5}},
        "retry": {"max_attempts": 3, "initial_delay": 0.1, "jitter": False}}], "edges": []})
    execution, _ = services.execution_start(workflow=flow, input={})
    deadline = time.monotonic() + 30
    while not http_peer.requests_to("/charge"):
        assert time.monotonic() < deadline, "the node never called the endpoint"
        time.sleep(0.05)
    # when every pool process of the worker is killed while the call is in flight
    for child in psutil.Process(worker.process.pid).children(recursive=True):
        os.kill(child.pid, signal.SIGKILL)
    # then the node runs again (at once on a broker redelivery, or once its lease expires,
    # which the sweeper beat drives here) and the execution completes
    deadline = time.monotonic() + 90
    while True:
        execution.refresh_from_db()
        if execution.status in ("completed", "failed", "cancelled"):
            break
        assert time.monotonic() < deadline, f"still {execution.status}"
        sweeper.sweep()
        time.sleep(0.5)
    assert execution.status == "completed", execution.error
    node = execution.nodes.get(node_id="call")
    assert node.status == "completed" and node.attempt == 2
    assert execution.logs.filter(event="node.completed", node_id="call").count() == 1
    # and every request the endpoint saw for this node carried the same Idempotency-Key
    keys = {request.idempotency_key for request in http_peer.requests_to("/charge")}
    assert keys == {f"{execution.pk}:call"}
    assert ExternalCall.objects.get(execution=execution).status == "completed"
