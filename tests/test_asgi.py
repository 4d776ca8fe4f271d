"""The ASGI entry point: a request body over the limit refused as it arrives; the
connections a request shares with the others."""

from __future__ import annotations

import socket

import httpx
import pytest
import redis
from django.conf import settings

from config.tokens import access_token_issue

MIB = 1024 * 1024


def _chunks(total: int):
    yield b'{"username": "'
    for _ in range(total // MIB):
        yield b"x" * MIB
    yield b'", "password": "x"}'


def test_a_chunked_body_over_the_limit_is_a_413(web):
    # given a body sent without a Content-Length, in chunks, past MAX_DEFINITION_BYTES
    # when it is posted to an endpoint that reads JSON (no login needed)
    response = httpx.post(web.url("/api/auth/login"), content=_chunks(
        settings.MAX_DEFINITION_BYTES + 2 * MIB), headers={"Content-Type": "application/json"},
        timeout=30)

    # then it is refused as too large, not stored and parsed
    assert response.status_code == 413, response.text[:300]
    assert response.json()["code"] == "payload_too_large"
    assert response.json()["details"] == {"max_bytes": settings.MAX_DEFINITION_BYTES}
    # while a chunked body within the limit is read as usual
    small = httpx.post(web.url("/api/auth/login"), content=iter([b'{"username": "a", ',
                                                                b'"password": "b"}']),
                       headers={"Content-Type": "application/json"}, timeout=30)
    assert small.status_code in (400, 401), small.text[:300]


def test_a_declared_length_over_the_limit_is_answered_before_the_body_is_sent(web):
    # given a request that declares a body over the limit and sends none of it
    with socket.create_connection(("127.0.0.1", web.port), timeout=10) as connection:
        connection.sendall(
            b"POST /api/auth/login HTTP/1.1\r\nHost: localhost\r\n"
            b"Content-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % (settings.MAX_DEFINITION_BYTES + 1))

        # then the answer comes at once: a 413, without waiting for the body
        answer = b""
        while chunk := connection.recv(4096):  # the server closes after answering
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b'"payload_too_large"' in answer


@pytest.mark.parametrize("declared", [b"9" * 19, b"00000000000000000000000000000000001"])
def test_a_declared_length_of_many_digits_is_answered_too(web, declared):
    # given a request whose Content-Length is a number of many digits (or one padded with
    # zeros), sending no body or one byte
    with socket.create_connection(("127.0.0.1", web.port), timeout=10) as connection:
        connection.sendall(
            b"POST /api/auth/login HTTP/1.1\r\nHost: localhost\r\n"
            b"Content-Type: application/json\r\nContent-Length: " + declared + b"\r\n\r\n")
        if declared.startswith(b"0"):
            connection.sendall(b"{")
        answer = b""
        while chunk := connection.recv(4096):
            answer += chunk
    # then the answer is the platform's own: a 413 for a body over the limit, a JSON 400
    # for a one-byte body, never a server error or a dropped connection
    expected = b"HTTP/1.1 400" if declared.startswith(b"0") else b"HTTP/1.1 413"
    assert answer.startswith(expected), answer[:200]


@pytest.mark.django_db(transaction=True)
def test_api_requests_share_the_web_process_s_redis_connections(web, operator):
    # given the web server and a client with a token (each API request reads its throttle's
    # counter from the Redis cache)
    server = redis.Redis.from_url(settings.REDIS_URL)
    headers = {"Authorization": f"Bearer {access_token_issue(user=operator)}"}
    with httpx.Client(base_url=web.url(""), headers=headers, timeout=30) as client:
        assert client.get("/api/executions").status_code == 200  # the pool is made
        before = server.info("stats")["total_connections_received"]

        # when 40 more requests are made, one after the other
        statuses = {client.get("/api/executions").status_code for _ in range(40)}

    # then they were answered over the connections the first one opened: not a new Redis
    # connection per request (a handful may come from the test's other processes)
    opened = server.info("stats")["total_connections_received"] - before
    assert statuses == {200}
    assert opened < 10, opened
