"""The per-peer circuit breaker, on the real Redis, with tiny thresholds."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
import redis
from django.conf import settings

from workflows.nodes.breaker import PeerBreaker, breaker_for, counts_as_failure
from workflows.nodes.faults import (
    ExternalFault,
    FatalFault,
    NodeFault,
    TimeoutFault,
    TransientFault,
    ValidationFault,
)


class Peer:
    """Stands for the remote side: counts calls, fails while told to."""

    def __init__(self) -> None:
        self.calls = 0
        self.failure: NodeFault | None = None

    def __call__(self) -> str:
        self.calls += 1
        if self.failure is not None:
            raise self.failure
        return "ok"


@pytest.fixture
def client() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(settings.REDIS_URL, decode_responses=False)
    yield client
    client.close()


@pytest.fixture
def make_breaker(client) -> Iterator:
    """Breakers in a namespace of their own, removed from Redis afterwards."""
    namespace = f"weft:test-breaker:{uuid.uuid4().hex}"

    def make(fail_max: int = 2, reset_timeout: float = 1) -> PeerBreaker:
        return PeerBreaker("peer.example:443", client=client, fail_max=fail_max,
                           reset_timeout=reset_timeout, namespace=namespace)

    yield make
    keys = list(client.scan_iter(f"{namespace}:*"))
    if keys:
        client.delete(*keys)


def call(breaker: PeerBreaker, peer: Peer) -> str | NodeFault:
    try:
        return breaker.call(peer)
    except NodeFault as fault:
        return fault


@pytest.mark.parametrize("fault, counted", [
    (TransientFault("reset"), True),
    (TimeoutFault("slow"), True),
    (ExternalFault("503", details={"status": 503}), True),
    (ExternalFault("429", details={"status": 429}), False),
    (ExternalFault("circuit open", details={"circuit": "open"}), False),
    (ValidationFault("404", details={"status": 404}), False),
    (FatalFault("bug"), False),
])
def test_only_an_unwell_peer_counts_as_a_failure(fault, counted):
    assert counts_as_failure(fault) is counted


def test_the_circuit_opens_after_fail_max_failures_and_then_fails_fast(make_breaker):
    # given a breaker opening after 2 failures, and a failing peer
    breaker = make_breaker(fail_max=2, reset_timeout=5)
    peer = Peer()
    peer.failure = ExternalFault("HTTP 503", details={"status": 503})
    # when the peer fails twice, each failure is the peer's own
    assert [call(breaker, peer), call(breaker, peer)] == [peer.failure, peer.failure]
    # then the next call fails fast without calling the peer
    refused = call(breaker, peer)
    assert isinstance(refused, ExternalFault)
    assert refused.message.startswith("Circuit open for peer.example:443")
    assert 3 < refused.retry_after <= 5
    assert peer.calls == 2


def test_the_open_circuit_is_shared_by_every_breaker_of_the_peer(make_breaker):
    # given two breakers for one peer, as in two worker processes
    first, second = make_breaker(fail_max=1, reset_timeout=5), make_breaker(fail_max=1,
                                                                             reset_timeout=5)
    peer = Peer()
    peer.failure = TransientFault("connection reset")
    # when the first one sees the failure that opens the circuit
    call(first, peer)
    # then the second one fails fast too
    assert isinstance(call(second, peer), ExternalFault)
    assert peer.calls == 1


def test_4xx_answers_do_not_open_the_circuit(make_breaker):
    breaker = make_breaker(fail_max=2)
    peer = Peer()
    peer.failure = ValidationFault("HTTP 404", details={"status": 404})
    for _ in range(4):
        assert call(breaker, peer) is peer.failure
    assert peer.calls == 4
    assert breaker.current_state == "closed"


def test_a_success_resets_the_count_of_failures(make_breaker):
    breaker = make_breaker(fail_max=2)
    peer = Peer()
    peer.failure = TimeoutFault("slow")
    call(breaker, peer)
    peer.failure = None
    assert call(breaker, peer) == "ok"
    peer.failure = TimeoutFault("slow")
    call(breaker, peer)
    assert breaker.current_state == "closed"


def test_after_the_reset_timeout_one_trial_call_closes_the_circuit(make_breaker):
    # given an open circuit with a reset timeout of 1 s
    breaker = make_breaker(fail_max=1, reset_timeout=1)
    peer = Peer()
    peer.failure = TransientFault("connection refused")
    call(breaker, peer)
    assert breaker.current_state == "open"
    # when the reset timeout has passed and the peer is back
    time.sleep(1.1)
    peer.failure = None
    # then a trial call goes through, and its success closes the circuit
    assert call(breaker, peer) == "ok"
    assert breaker.current_state == "closed"
    assert peer.calls == 2


def test_a_failed_trial_call_opens_the_circuit_again(make_breaker):
    # given an open circuit past its reset timeout, and a peer still failing
    breaker = make_breaker(fail_max=1, reset_timeout=1)
    peer = Peer()
    peer.failure = TransientFault("connection refused")
    call(breaker, peer)
    time.sleep(1.1)
    # when the trial call fails
    assert call(breaker, peer) is peer.failure
    # then the circuit is open again and the next call fails fast
    assert breaker.current_state == "open"
    assert isinstance(call(breaker, peer), ExternalFault)
    assert peer.calls == 2


def test_while_a_trial_call_runs_the_others_fail_fast(make_breaker):
    # given a half-open circuit whose trial call is still running
    breaker, other = make_breaker(fail_max=1, reset_timeout=1), make_breaker(fail_max=1,
                                                                             reset_timeout=1)
    peer = Peer()
    peer.failure = TransientFault("connection refused")
    call(breaker, peer)
    time.sleep(1.1)
    peer.failure = None
    during: list[str | NodeFault] = []

    def trial() -> str:
        during.append(call(other, peer))
        return "ok"

    # when another caller tries during the trial
    assert breaker.call(trial) == "ok"
    # then it was refused with a short retry_after, and the trial closed the circuit
    [refused] = during
    assert isinstance(refused, ExternalFault)
    assert "a trial call is in progress" in refused.message
    assert 0 < refused.retry_after <= 120
    assert breaker.current_state == "closed"
    assert call(other, peer) == "ok"


def test_each_process_keeps_one_breaker_per_peer():
    assert breaker_for("one.example:443") is breaker_for("one.example:443")
    assert breaker_for("one.example:443") is not breaker_for("one.example:8443")
    assert breaker_for("one.example:443").fail_max == settings.WORKFLOW_BREAKER_FAIL_MAX
