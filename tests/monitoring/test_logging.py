"""Logs never show a hook URL's token: access logs and Django's request log scrub it."""

from __future__ import annotations

import logging
import urllib.error
import urllib.request

import pytest

from monitoring.logging import HookTokenFilter
from tests.servers import web_server

pytestmark = pytest.mark.django_db

TOKEN = "q7lW3bW1vZ0sKxHRtrUoVq0o7rXb8cXf3vS9Zt2bqE0"


def _request(method: str, url: str) -> int:
    request = urllib.request.Request(url, b"{}", {"Content-Type": "application/json"},  # noqa: S310
                                     method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.services
def test_a_real_web_server_logs_hook_requests_without_their_token(tmp_path):
    # given the web server as production runs it
    with web_server(tmp_path, access_log=True) as server:
        # when hook URLs are called: an unknown token, a wrong method, a path under it
        statuses = [_request("POST", server.url(f"/api/hooks/{TOKEN}")),
                    _request("DELETE", server.url(f"/api/hooks/{TOKEN}")),
                    _request("POST", server.url(f"/api/hooks/{TOKEN}/more"))]
    log = server.output()
    # then the access log and the request log name the requests, never the token
    assert statuses == [404, 405, 404]
    assert TOKEN not in log
    assert log.count("/api/hooks/[redacted]") >= 3, log


@pytest.mark.parametrize(("msg", "args"), [
    ('%s - "%s %s HTTP/%s" %d', ("127.0.0.1:5000", "POST", f"/api/hooks/{TOKEN}?x=1", "1.1",
                                 202)),
    ("Not Found: %s", (f"/api/hooks/{TOKEN}/x",)),
    (f"called /api/hooks/{TOKEN}", ()),
    ("%(path)s", ({"path": f"https://weft.example.com/api/hooks/{TOKEN}"},)),
])
def test_the_filter_scrubs_messages_and_arguments(msg, args):
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, msg, args, None)
    HookTokenFilter().filter(record)
    assert TOKEN not in record.getMessage()
    assert "/api/hooks/[redacted]" in record.getMessage()


def test_a_correlation_id_is_taken_whole_or_not_at_all():
    from monitoring.correlation import correlation_id_accept

    assert correlation_id_accept("order-42:retry.1") == "order-42:retry.1"
    # a final newline (Python's $ matched before it) or any other character: a fresh id
    for given in ("order-42\n", "order 42", "x" * 129):
        fresh = correlation_id_accept(given)
        assert fresh != given and len(fresh) == 32
