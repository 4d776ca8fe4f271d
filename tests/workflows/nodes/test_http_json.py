"""An HttpRequest node reads a JSON answer within the platform's JSON limits: an answer
with non-finite numbers, over-long integers or deep nesting is kept as text, never stored
as a value PostgreSQL's jsonb or the engine cannot hold."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.engine import attempt_output
from workflows.nodes.builtin.integration.http import HttpRequest


@pytest.fixture
def answering(settings) -> Iterator[Any]:
    """A loopback server that answers every GET with the body set on it."""
    settings.WORKFLOW_HTTP_ALLOWED_HOSTS = ["127.0.0.1"]

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            body = self.server.body.encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("body", ['{"n": 1e400}', '{"n": NaN}', '{"n": ' + "9" * 5000 + "}",
                                  '{"a": ' * 5000 + "1" + "}" * 5000],
                         ids=["1e400", "nan", "long-integer", "deep"])
def test_a_json_answer_over_the_limits_is_kept_as_text(answering, body):
    # given a server whose JSON answer breaks a limit
    answering.body = body
    # when a node requests it
    output = attempt_output(HttpRequest, {
        "url": f"http://127.0.0.1:{answering.server_port}/", "method": "GET"})
    # then the body is the text as it came, not an unstorable value
    assert output["body"] == body


def test_a_json_answer_within_the_limits_is_parsed(answering):
    answering.body = '{"n": 1.5, "items": [1, 2]}'
    output = attempt_output(HttpRequest, {
        "url": f"http://127.0.0.1:{answering.server_port}/", "method": "GET"})
    assert output["body"] == {"n": 1.5, "items": [1, 2]}
