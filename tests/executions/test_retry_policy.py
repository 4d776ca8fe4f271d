"""The retry decision as a pure value: `RetryPolicy`, made once per node in the plan from
the node's `retry`, the workflow's `max_retries` and the platform's defaults. No database."""

from __future__ import annotations

import math
import random

import pytest
from django.conf import settings
from hypothesis import given
from hypothesis import strategies as st

from executions.plan import RETRY_BACKOFF_MAX, RetryPolicy, plan_build


def policy(**fields) -> RetryPolicy:
    return RetryPolicy(**{"max_attempts": 3, "initial_delay": 1.0, "backoff": 2.0,
                          "max_delay": 60.0, "jitter": False, **fields})


@pytest.mark.parametrize("field, value", [
    ("max_attempts", 0), ("max_attempts", 2.5), ("max_attempts", True),
    ("initial_delay", -1), ("initial_delay", math.nan), ("initial_delay", math.inf),
    ("backoff", 0.5), ("backoff", RETRY_BACKOFF_MAX + 1), ("max_delay", -0.1),
    ("jitter", "yes"),
])
def test_a_value_out_of_range_is_refused_naming_its_field(field, value):
    with pytest.raises(ValueError, match=f"RetryPolicy.{field}"):
        policy(**{field: value})


def test_the_delay_grows_by_the_backoff_up_to_the_ceiling():
    steady = policy(initial_delay=1.0, backoff=2.0, max_delay=5.0)
    assert [steady.delay(attempt) for attempt in range(1, 6)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    # a fault that asks for more time gets it; one asking for less gets the policy's
    assert steady.delay(1, retry_after=30.0) == 30.0
    assert steady.delay(3, retry_after=0.5) == 4.0
    # an attempt number far past any real one stays a number
    assert steady.delay(10_000) == 5.0


def test_a_fault_s_own_delay_is_held_within_the_longest_a_definition_may_set(settings):
    # given a peer (or a node's code) that asks for an endless, absurd or no delay
    settings.WORKFLOW_RETRY_DELAY_MAX = 3600
    steady = policy(initial_delay=1.0, backoff=2.0, max_delay=5.0)
    # then it waits at most the longest delay a definition may set, and a delay that is
    # not a number counts as none
    assert steady.delay(1, retry_after=10**12) == 3600
    assert steady.delay(1, retry_after=math.inf) == 1.0
    assert steady.delay(1, retry_after=math.nan) == 1.0
    assert steady.delay(1, retry_after=-30.0) == 1.0


def test_only_a_retryable_fault_before_the_last_attempt_is_retried():
    three = policy(max_attempts=3)
    assert three.retries(1, retryable=True) and three.retries(2, retryable=True)
    assert not three.retries(3, retryable=True)
    assert not three.retries(1, retryable=False)


@given(attempt=st.integers(min_value=1, max_value=10_000),
       initial=st.floats(min_value=0, max_value=3600),
       backoff=st.floats(min_value=1, max_value=RETRY_BACKOFF_MAX),
       ceiling=st.floats(min_value=0, max_value=3600),
       retry_after=st.none() | st.floats(min_value=0, max_value=3600),
       seed=st.integers())
def test_a_jittered_delay_lies_between_the_faults_least_and_the_ceiling(
        attempt, initial, backoff, ceiling, retry_after, seed):
    jittered = RetryPolicy(max_attempts=5, initial_delay=initial, backoff=backoff,
                           max_delay=ceiling, jitter=True)
    delay = jittered.delay(attempt, retry_after=retry_after, rng=random.Random(seed))
    least = retry_after or 0.0
    assert least <= delay <= max(least, ceiling)
    if attempt == 1:  # the first retry waits at most the initial delay
        assert delay <= max(least, initial)


def _node(**node) -> dict:
    return {"id": "step", "type": "Logger", "data": {"message": "hi"}, **node}


def test_the_plan_holds_each_nodes_policy_from_node_workflow_or_platform():
    plan = plan_build({"nodes": [
        _node(id="own", retry={"max_attempts": 5, "initial_delay": 0.5, "backoff": 3,
                               "max_delay": 9, "jitter": False}),
        _node(id="workflows")], "edges": [], "settings": {"max_retries": 1}})
    assert plan.retry["own"] == RetryPolicy(5, 0.5, 3.0, 9.0, False)
    workflows = plan.retry["workflows"]
    assert workflows.max_attempts == 2  # one retry
    assert (workflows.initial_delay, workflows.backoff, workflows.max_delay, workflows.jitter) \
        == (settings.WORKFLOW_RETRY_INITIAL_DELAY, settings.WORKFLOW_RETRY_BACKOFF,
            settings.WORKFLOW_RETRY_MAX_DELAY, True)
    platform = plan_build({"nodes": [_node()], "edges": []}).retry["step"]
    assert platform.max_attempts == settings.WORKFLOW_MAX_RETRIES + 1


def test_a_stored_policy_out_of_range_becomes_the_nearest_valid_one():
    # a definition written around the API may hold anything; the engine still runs it
    plan = plan_build({"nodes": [_node(retry={
        "max_attempts": 0, "backoff": 0.1, "initial_delay": 1e300, "max_delay": -5,
        "jitter": "no"})], "edges": []})
    stored = plan.retry["step"]
    assert stored.max_attempts == 1 and stored.backoff == 1.0
    assert stored.initial_delay == settings.WORKFLOW_RETRY_DELAY_MAX
    assert stored.max_delay == 0 and stored.jitter is True
