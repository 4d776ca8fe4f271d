"""A real HTTP peer for HttpRequest tests: a local server that records what it receives.

The test worker reaches it because tests/workers.py starts the worker with
`WORKFLOW_HTTP_ALLOWED_HOSTS` allowing loopback.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest


@dataclass(frozen=True)
class Answer:
    """What the peer answers: a status, headers, a JSON or text body, after a delay."""

    status: int = 200
    json: Any = None
    text: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0

    def encoded(self) -> tuple[bytes, str]:
        if self.json is not None:
            return json.dumps(self.json).encode(), "application/json"
        return self.text.encode(), "text/plain; charset=utf-8"


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes

    @property
    def idempotency_key(self) -> str | None:
        return self.headers.get("idempotency-key")


class HttpPeer:
    """Answers each path from a script (the last answer repeats); records every request."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self._scripts: dict[str, list[Answer]] = {}
        self._lock = threading.Lock()
        peer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                answer = peer._record(Received(
                    self.command, parts.path, parts.query,
                    {name.lower(): value for name, value in self.headers.items()}, body))
                time.sleep(answer.delay)
                payload, content_type = answer.encoded()
                self.send_response(answer.status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                """Quiet: the test reads `received` instead."""

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                """A client that gave up on a slow answer is expected here."""

        self._server = Server(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def script(self, path: str, *answers: Answer) -> None:
        with self._lock:
            self._scripts[path] = list(answers)

    def requests_to(self, path: str) -> list[Received]:
        with self._lock:
            return [request for request in self.received if request.path == path]

    def _record(self, request: Received) -> Answer:
        with self._lock:
            self.received.append(request)
            answers = self._scripts.get(request.path) or [Answer(404, text="no such path")]
            return answers.pop(0) if len(answers) > 1 else answers[0]

    def __enter__(self) -> HttpPeer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def http_peer() -> Iterator[HttpPeer]:
    """A fresh local HTTP server on a free port (so each test has its own circuit breaker)."""
    with HttpPeer() as peer:
        yield peer
