"""HttpRequest against a real local HTTP peer: on the real worker, and in-process."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings

from executions import services
from executions.models import ExternalCall, ExternalCallStatus
from executions.services.external import external_call
from tests.engine import run, workflow_from
from tests.executions.conftest import Answer
from workflows import services as workflow_services
from workflows.nodes.builtin.integration.http import MAX_BODY_BYTES, HttpRequest
from workflows.nodes.context import NodeContext
from workflows.nodes.faults import FaultClass, NodeFault, ValidationFault

ON_WORKER = (pytest.mark.services, pytest.mark.django_db(transaction=True),
             pytest.mark.usefixtures("worker"))


def on_worker(test: Callable) -> Callable:
    """A test that runs workflows on the session's real worker process."""
    for mark in ON_WORKER:
        test = mark(test)
    return test


def http_workflow(name: str, data: dict[str, Any], **node: Any) -> dict[str, Any]:
    return {"name": name, "namespace": "http",
            "nodes": [{"id": "call", "type": "HttpRequest", "data": data, **node}], "edges": []}


def attempt(data: dict[str, Any], *, execution_id: str = "in-process",
            run_external: Callable | None = None) -> NodeContext:
    """One attempt's context, as the engine builds it, with `data` rendered."""
    context = NodeContext(execution_id=execution_id, node_id="call", node_type="HttpRequest",
                          attempt=1, raw_data=data, scope={"input": {}, "nodes": {}, "vars": {}},
                          run_external=run_external)
    HttpRequest().preprocess(context)
    return context


@on_worker
def test_a_get_returns_status_headers_and_parsed_json(http_peer):
    # given a peer answering JSON with a header of its own
    http_peer.script("/items", Answer(200, json={"items": [1, 2]}, headers={"X-Trace": "t-1"}))
    definition = http_workflow("get", {"url": http_peer.url("/items"), "query": {"page": 2},
                                       "headers": {"Accept": "application/json"}})
    # when the workflow runs
    execution = run(definition)
    # then the node's output is {status, headers, body} with the body parsed
    assert execution.status == "completed", execution.error
    output = execution.output["call"]
    assert output["status"] == 200
    assert output["body"] == {"items": [1, 2]}
    assert output["headers"]["x-trace"] == "t-1"
    assert output["headers"]["content-type"] == "application/json"
    # and the peer got the query and headers, and no Idempotency-Key on a safe method
    [received] = http_peer.requests_to("/items")
    assert (received.method, received.query) == ("GET", "page=2")
    assert received.headers["accept"] == "application/json"
    assert received.idempotency_key is None


@on_worker
def test_a_retried_post_sends_the_same_idempotency_key_and_completes_once(http_peer):
    # given a peer that answers 503 twice, then 201
    http_peer.script("/orders", Answer(503, text="busy"), Answer(503, text="busy"),
                     Answer(201, json={"id": 7}))
    definition = http_workflow(
        "post-retried", {"url": http_peer.url("/orders"), "method": "POST",
                         "json": {"sku": "{{ input.sku }}"}},
        retry={"max_attempts": 3, "initial_delay": 0.05, "jitter": False})
    # when the workflow runs
    execution = run(definition, {"sku": "A-1"})
    # then the third attempt completed the node with the peer's answer
    assert execution.status == "completed", execution.error
    assert execution.output["call"]["body"] == {"id": 7}
    node = execution.nodes.get(node_id="call")
    assert node.attempt == 3
    # and every attempt sent the same key, the node run's
    received = http_peer.requests_to("/orders")
    assert [request.idempotency_key for request in received] == [f"{execution.pk}:call"] * 3
    assert received[0].body == b'{"sku": "A-1"}'
    assert received[0].headers["content-type"] == "application/json"
    # and one external call was recorded as completed, and one completion logged
    [call] = ExternalCall.objects.filter(execution=execution)
    assert (call.status, call.attempts) == (ExternalCallStatus.COMPLETED, 3)
    assert execution.logs.filter(event="node.completed", node_id="call").count() == 1


@on_worker
def test_an_unexpected_404_fails_at_once_without_retries(http_peer):
    # given a peer that knows no /missing, and a node allowed three attempts
    definition = http_workflow("not-found", {"url": http_peer.url("/missing")},
                               retry={"max_attempts": 3, "initial_delay": 0.05})
    # when the workflow runs
    execution = run(definition)
    # then the node failed on its first attempt with a validation fault
    assert execution.status == "failed"
    node = execution.nodes.get(node_id="call")
    assert (node.status, node.attempt) == ("failed", 1)
    assert node.error["fault"] == "validation"
    assert "answered 404" in node.error["message"]
    assert len(http_peer.requests_to("/missing")) == 1


@on_worker
def test_an_expected_4xx_completes_the_node(http_peer):
    # given a peer answering 404, which the node expects
    http_peer.script("/gone", Answer(404, json={"error": "gone"}))
    definition = http_workflow("expected-404", {"url": http_peer.url("/gone"),
                                                "expected_status": [200, 404]})
    # when the workflow runs
    execution = run(definition)
    # then the node completed with the 404 answer
    assert execution.status == "completed", execution.error
    assert execution.output["call"]["status"] == 404
    assert execution.output["call"]["body"] == {"error": "gone"}


@on_worker
def test_a_slow_peer_fails_the_node_with_a_timeout_fault(http_peer):
    # given a peer taking a second to answer, and a request timeout of 0.2 s
    http_peer.script("/slow", Answer(200, json={}, delay=1.0))
    definition = http_workflow("slow", {"url": http_peer.url("/slow"), "timeout": 0.2},
                               retry={"max_attempts": 1})
    # when the workflow runs
    execution = run(definition)
    # then the node failed with a timeout fault
    assert execution.status == "failed"
    node = execution.nodes.get(node_id="call")
    assert node.error["fault"] == "timeout"
    assert "timed out" in node.error["message"]


@on_worker
def test_the_circuit_opens_after_repeated_failures_and_fails_fast(http_peer):
    # given a peer that always answers 500, and a node allowed one attempt more than the
    # failures that open the circuit (the worker runs with the settings' threshold)
    failures = settings.WORKFLOW_BREAKER_FAIL_MAX
    http_peer.script("/down", Answer(500, text="down"))
    definition = http_workflow(
        "circuit", {"url": http_peer.url("/down")},
        retry={"max_attempts": failures + 1, "initial_delay": 0.05, "backoff": 1,
               "jitter": False})
    # when the workflow runs
    execution = run(definition)
    # then the last attempt failed fast on the open circuit without calling the peer
    assert execution.status == "failed"
    node = execution.nodes.get(node_id="call")
    assert node.attempt == failures + 1
    assert node.error["fault"] == "external"
    assert f"Circuit open for 127.0.0.1:{http_peer.port}" in node.error["message"]
    assert len(http_peer.requests_to("/down")) == failures


@on_worker
def test_a_bearer_secret_is_sent_and_never_stored(http_peer):
    # given a secret token, and a peer that echoes the Authorization header it got
    workflow_services.secret_create(name="shop_token", value="s3cr3t-token", actor=None)
    http_peer.script("/whoami", Answer(200, text="you sent Bearer s3cr3t-token"))
    definition = http_workflow("auth", {"url": http_peer.url("/whoami"),
                                        "auth": {"secret": "shop_token", "type": "bearer"}})
    # when the workflow runs
    execution = run(definition)
    # then the peer got the credential, and the stored output does not hold it
    assert execution.status == "completed", execution.error
    [received] = http_peer.requests_to("/whoami")
    assert received.headers["authorization"] == "Bearer s3cr3t-token"
    assert execution.output["call"]["body"] == "you sent Bearer ***"


@pytest.mark.django_db
def test_a_completed_external_call_is_not_made_again(http_peer, settings):
    # given an execution whose POST node already called the peer once
    settings.WORKFLOW_HTTP_ALLOWED_HOSTS = ["127.0.0.1"]
    http_peer.script("/charge", Answer(200, json={"charged": True}))
    workflow = workflow_from(http_workflow("twice", {"url": http_peer.url("/charge")}))
    execution, _ = services.execution_start(workflow=workflow, input={})
    data = {"url": http_peer.url("/charge"), "method": "POST", "json": {"amount": 5}}
    first = HttpRequest().execute(attempt(data, execution_id=str(execution.pk),
                                          run_external=external_call))
    # when a redelivered attempt of the same node run executes again
    second = HttpRequest().execute(attempt(data, execution_id=str(execution.pk),
                                           run_external=external_call))
    # then it gets the recorded answer and the peer was called once
    assert second == first
    assert first["body"] == {"charged": True}
    assert len(http_peer.requests_to("/charge")) == 1
    call = ExternalCall.objects.get(execution=execution)
    assert call.request == {"method": "POST", "origin": f"http://127.0.0.1:{http_peer.port}"}


@pytest.mark.parametrize("url, host", [
    ("http://10.0.0.1/", "10.0.0.1"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
    ("http://[::1]:8080/", "::1"),
    ("http://localhost/", "localhost"),
])
def test_private_addresses_are_refused_before_connecting(url, host, settings):
    # given no allow-list
    settings.WORKFLOW_HTTP_ALLOWED_HOSTS = []
    # when a node calls a private, link-local or loopback address
    with pytest.raises(ValidationFault) as refused:
        HttpRequest().execute(attempt({"url": url}))
    # then it is refused with a validation fault naming the host
    assert refused.value.fault_class == FaultClass.VALIDATION
    assert f"Refusing to connect to {host}" in refused.value.message


@pytest.mark.parametrize("allowed", [["127.0.0.1"], ["127.0.0.0/8"], ["localhost"]])
def test_an_allow_listed_host_or_range_may_be_called(http_peer, settings, allowed):
    # given the loopback peer allowed by address, by range or by name
    settings.WORKFLOW_HTTP_ALLOWED_HOSTS = allowed
    http_peer.script("/ok", Answer(200, text="fine"))
    url = http_peer.url("/ok")
    if allowed == ["localhost"]:
        url = url.replace("127.0.0.1", "localhost")
    # when a node calls it
    output = HttpRequest().execute(attempt({"url": url}))
    # then the call goes through
    assert (output["status"], output["body"]) == (200, "fine")


def test_a_redirect_into_the_private_network_is_refused(http_peer, settings):
    # given an allowed peer that redirects to another loopback address, not allowed
    settings.WORKFLOW_HTTP_ALLOWED_HOSTS = ["127.0.0.1"]
    inner = f"http://127.0.0.2:{http_peer.port}/admin"
    http_peer.script("/start", Answer(302, headers={"Location": inner}))
    # when a node follows redirects from it
    with pytest.raises(ValidationFault) as refused:
        HttpRequest().execute(attempt({"url": http_peer.url("/start")}))
    # then the redirect's target is refused, and nothing reached it
    assert "Refusing to connect to 127.0.0.2" in refused.value.message
    assert http_peer.requests_to("/admin") == []


def test_a_redirect_within_allowed_hosts_is_followed(http_peer, settings):
    # given an allowed peer that redirects to another of its paths
    settings.WORKFLOW_HTTP_ALLOWED_HOSTS = ["127.0.0.1"]
    http_peer.script("/old", Answer(301, headers={"Location": "/new"}))
    http_peer.script("/new", Answer(200, json={"moved": True}))
    # when a node calls the old path
    output = HttpRequest().execute(attempt({"url": http_peer.url("/old")}))
    # then it gets the new path's answer
    assert output["body"] == {"moved": True}


def test_a_redirect_is_returned_as_it_is_when_not_followed(http_peer, settings):
    # given a redirecting peer, a node that does not follow redirects and expects a 302
    settings.WORKFLOW_HTTP_ALLOWED_HOSTS = ["127.0.0.1"]
    http_peer.script("/old", Answer(302, headers={"Location": "/new"}))
    data = {"url": http_peer.url("/old"), "follow_redirects": False, "expected_status": 302}
    # when the node runs
    output = HttpRequest().execute(attempt(data))
    # then the output is the redirect itself
    assert (output["status"], output["headers"]["location"]) == (302, "/new")
    assert http_peer.requests_to("/new") == []


def test_a_429_is_retried_no_earlier_than_retry_after(http_peer, settings):
    # given a peer rate-limiting with Retry-After: 7
    settings.WORKFLOW_HTTP_ALLOWED_HOSTS = ["127.0.0.1"]
    http_peer.script("/limited", Answer(429, text="slow down", headers={"Retry-After": "7"}))
    # when a node calls it
    with pytest.raises(NodeFault) as fault:
        HttpRequest().execute(attempt({"url": http_peer.url("/limited")}))
    # then the fault is external, retryable, after 7 s, with the answer in its details
    assert fault.value.fault_class == FaultClass.EXTERNAL
    assert fault.value.retry_after == 7
    assert fault.value.details == {"status": 429, "body": "slow down"}


@pytest.mark.parametrize(("header", "expected"), [
    ("\u00b2", None), ("9" * 400, 3600), ("0007", 7), ("-5", None)],
    ids=["superscript-digit", "400-digits", "zero-padded", "negative"])
def test_a_retry_after_the_peer_garbles_is_read_within_bounds(http_peer, settings, header,
                                                              expected):
    # given a peer rate-limiting with a Retry-After that is no delay or an absurd one
    settings.WORKFLOW_HTTP_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.WORKFLOW_RETRY_DELAY_MAX = 3600
    http_peer.script("/limited", Answer(429, text="slow down", headers={"Retry-After": header}))
    # when a node calls it
    with pytest.raises(NodeFault) as fault:
        HttpRequest().execute(attempt({"url": http_peer.url("/limited")}))
    # then the fault is the peer's 429, waiting at most the longest delay a definition may set
    assert fault.value.fault_class == FaultClass.EXTERNAL
    assert fault.value.retry_after == expected


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/file", "file:///etc/passwd"])
def test_other_schemes_are_refused(url):
    with pytest.raises(ValidationFault, match="only http and https"):
        HttpRequest().execute(attempt({"url": url}))


def test_a_body_over_the_limit_is_refused(http_peer, settings):
    # given a peer answering one byte more than the limit
    settings.WORKFLOW_HTTP_ALLOWED_HOSTS = ["127.0.0.1"]
    http_peer.script("/big", Answer(200, text="x" * (MAX_BODY_BYTES + 1)))
    # when a node calls it
    with pytest.raises(ValidationFault, match="body over 10 MB"):
        HttpRequest().execute(attempt({"url": http_peer.url("/big")}))
