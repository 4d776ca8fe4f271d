"""The commit window of an external call: the peer acted, the worker died before the result
was recorded. The call is made again with the same idempotency key, and the node completes
once."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import psutil
import pytest

from executions import services
from executions.models import ExternalCall, ExternalCallStatus
from executions.services import sweeper
from executions.services.external import external_call
from tests.engine import workflow_from
from workflows.nodes.context import NodeContext


class ProcessDied(BaseException):
    """Stands for the end of the process: nothing after it runs (not even `except
    Exception`)."""


def _context(execution_id: str) -> NodeContext:
    return NodeContext(execution_id=execution_id, node_id="charge", node_type="HttpRequest",
                       attempt=1, raw_data={}, scope={}, run_external=external_call)


@pytest.mark.django_db
def test_an_intent_without_a_result_is_called_again_with_the_same_key():
    # given a workflow's execution, and a peer that acts on every call it receives
    flow = workflow_from({"name": "window", "namespace": "ext", "nodes": [
        {"id": "charge", "type": "Logger", "data": {"level": "info", "message": "x"}}],
        "edges": []})
    execution, _ = services.execution_start(workflow=flow, input={})
    seen: list[str] = []

    def dies_after_the_peer_acted(key: str) -> dict[str, Any]:
        seen.append(key)
        raise ProcessDied

    # when the first attempt's process ends after the call, before the result is recorded
    with pytest.raises(ProcessDied):
        _context(str(execution.pk)).external_call({"amount": 5}, dies_after_the_peer_acted)
    call = ExternalCall.objects.get(execution=execution)
    assert (call.status, call.attempts, call.response) == (ExternalCallStatus.INTENT, 1, None)
    # and the redelivered attempt runs the node again
    result = _context(str(execution.pk)).external_call(
        {"amount": 5}, lambda key: seen.append(key) or {"charged": True})
    # then the call was repeated with the same key, and its result recorded once
    assert result == {"charged": True}
    assert seen == [f"{execution.pk}:charge"] * 2
    call.refresh_from_db()
    assert (call.status, call.attempts, call.response) == (
        ExternalCallStatus.COMPLETED, 2, {"charged": True})
    # and a later attempt reuses the result without calling
    again = _context(str(execution.pk)).external_call({"amount": 5}, lambda key: 1 / 0)
    assert again == {"charged": True}
    assert ExternalCall.objects.filter(execution=execution).count() == 1


class KillingPeer:
    """An HTTP peer that performs each POST (records it), and on the first one kills the
    worker process that sent it (SIGKILL) before answering: the peer acted, the worker
    never learns the result."""

    def __init__(self, worker_pid: int) -> None:
        self.received: list[dict[str, str]] = []
        self.killed: list[int] = []
        self._lock = threading.Lock()
        peer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with peer._lock:
                    peer.received.append({k.lower(): v for k, v in self.headers.items()})
                    first = len(peer.received) == 1
                if first:
                    peer.kill_sender(worker_pid, self.client_address[1])
                    return
                payload = json.dumps({"charged": True}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                """Quiet."""

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                """The killed client's connection is expected to break."""

        self._server = Server(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def kill_sender(self, worker_pid: int, client_port: int) -> None:
        """SIGKILL the worker pool process holding the connection from `client_port`."""
        for child in psutil.Process(worker_pid).children(recursive=True):
            try:
                ports = {c.laddr.port for c in child.net_connections(kind="tcp")}
            except psutil.Error:
                continue
            if client_port in ports:
                os.kill(child.pid, signal.SIGKILL)
                psutil.Process(child.pid).wait(timeout=10)
                self.killed.append(child.pid)
                return
        raise AssertionError(f"no worker process holds the connection from :{client_port}")

    def __enter__(self) -> KillingPeer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def killing_peer(worker) -> Iterator[KillingPeer]:
    with KillingPeer(worker.process.pid) as peer:
        yield peer


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_after_the_peer_acted_repeats_the_call_with_the_same_key(
    worker, killing_peer
):
    # given a POST node to a peer that acts, then kills the worker before it can answer
    flow = workflow_from({"name": "window", "namespace": "ext-kill", "nodes": [{
        "id": "call", "type": "HttpRequest", "timeout": 20,
        "data": {"url": f"http://127.0.0.1:{killing_peer.port}/charge", "method": "POST",
                 "json": {"amount": 5}},
        "retry": {"max_attempts": 3, "initial_delay": 0.1, "jitter": False}}], "edges": []})
    # when the execution runs (the broker redelivers the killed worker's message; the
    # sweeper would send it again once its lease expired otherwise)
    execution, _ = services.execution_start(workflow=flow, input={})
    deadline = time.monotonic() + 90
    while True:
        execution.refresh_from_db()
        if execution.status in ("completed", "failed", "cancelled"):
            break
        assert time.monotonic() < deadline, f"still {execution.status}"
        sweeper.sweep()
        time.sleep(0.2)
    # then the worker was killed once, and the execution completed with one completion
    assert len(killing_peer.killed) == 1
    assert execution.status == "completed", execution.error
    assert execution.output["call"]["body"] == {"charged": True}
    node = execution.nodes.get(node_id="call")
    assert (node.status, node.attempt) == ("completed", 2)
    assert execution.logs.filter(event="node.completed", node_id="call").count() == 1
    # and the peer saw the call twice, with the same Idempotency-Key both times
    assert [r["idempotency-key"] for r in killing_peer.received] == [f"{execution.pk}:call"] * 2
    [call] = ExternalCall.objects.filter(execution=execution)
    assert (call.status, call.attempts) == (ExternalCallStatus.COMPLETED, 2)
