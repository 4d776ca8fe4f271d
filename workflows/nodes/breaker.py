"""Circuit breakers per peer, shared by every worker process through Redis.

A breaker is pybreaker's `CircuitBreaker` with its state in Redis under
`weft:breaker:<host>:<port>:pybreaker:*`, so the failures one worker sees count for all of
them, and an open circuit stops every worker from calling the peer. One breaker object per
peer is kept per process.

Only outcomes that say the peer is unwell count as failures: transient and timeout faults
and 5xx answers. A 4xx answer means the peer is up and the request was wrong; it counts as
a success. After `fail_max` consecutive failures the circuit opens and calls fail at once
with an `ExternalFault` whose `retry_after` is the time the circuit stays open. After
`reset_timeout` one trial call is let through (the others keep failing fast while it runs):
its success closes the circuit, its failure opens it again. When Redis cannot be reached,
the circuit counts as closed: the peer is called rather than refused (pybreaker's choice,
kept for the trial call too).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pybreaker
import redis
from django.conf import settings
from redis.backoff import NoBackoff
from redis.retry import Retry

from workflows.nodes.faults import ExternalFault, FaultClass, NodeFault

T = TypeVar("T")

logger = logging.getLogger(__name__)

# The longest a trial call holds the half-open circuit before another caller may try.
TRIAL_HOLD_SECONDS = 120.0


def counts_as_failure(exc: BaseException) -> bool:
    """Whether an outcome says the peer is unwell: transient, timeout, or a 5xx answer."""
    if not isinstance(exc, NodeFault):
        return True
    if exc.fault_class in (FaultClass.TRANSIENT, FaultClass.TIMEOUT):
        return True
    status = exc.details.get("status")
    return exc.fault_class == FaultClass.EXTERNAL and isinstance(status, int) and status >= 500


class _RedisStorage(pybreaker.CircuitRedisStorage):
    """pybreaker's Redis storage, which survives Redis being down when it starts (the other
    operations already log a Redis error and go on as if the circuit were closed)."""

    def _initialize_redis_state(self, state: str) -> None:
        try:
            super()._initialize_redis_state(state)
        except redis.RedisError:
            logger.warning("circuit breaker %s: Redis unavailable", self._namespace_name)


class PeerBreaker(pybreaker.CircuitBreaker):
    """A breaker for one peer whose calls do not wait for each other.

    pybreaker's `call` holds the breaker's lock for the whole call, which would make the
    threads of one process take turns calling a peer; the state lives in Redis and its
    counters change atomically there, so the lock adds nothing and is not taken here.
    """

    def __init__(self, peer: str, *, client: redis.Redis, fail_max: int, reset_timeout: float,
                 namespace: str = "weft:breaker") -> None:
        self.peer = peer
        self.storage = _RedisStorage(
            pybreaker.STATE_CLOSED, client, namespace=f"{namespace}:{peer}")
        self._client = client
        self._trial_key = f"{namespace}:{peer}:trial"
        super().__init__(fail_max=fail_max, reset_timeout=reset_timeout,
                         exclude=[lambda exc: not counts_as_failure(exc)],
                         state_storage=self.storage, name=peer, throw_new_error_on_trip=False)

    def remaining_open(self) -> float:
        """Seconds until an open circuit lets a trial call through (0 when it may now)."""
        opened_at = self.storage.opened_at
        if opened_at is None:
            return 0.0
        until = opened_at + timedelta(seconds=self.reset_timeout)
        return max(0.0, (until - datetime.now(UTC)).total_seconds())

    def call(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Call `func` unless the circuit is open; record whether the peer failed."""
        state = self.current_state
        if state == pybreaker.STATE_CLOSED:
            return self.state.call(func, *args, **kwargs)
        remaining = self.remaining_open() if state == pybreaker.STATE_OPEN else 0.0
        if remaining > 0:
            raise self._open_fault(remaining)
        token = uuid.uuid4().hex
        if not self._hold_trial(token):
            hold = self._client.pttl(self._trial_key)
            raise self._open_fault(max(hold, 1000) / 1000, trial=True)
        try:
            if self.current_state == pybreaker.STATE_OPEN:
                self.half_open()
            return self.state.call(func, *args, **kwargs)
        finally:
            with contextlib.suppress(redis.RedisError):
                if self._client.get(self._trial_key) == token.encode():
                    self._client.delete(self._trial_key)

    def _hold_trial(self, token: str) -> bool:
        """Become the one trial call of a half-open circuit (anyone may, without Redis)."""
        try:
            return bool(self._client.set(self._trial_key, token, nx=True,
                                         px=int(TRIAL_HOLD_SECONDS * 1000)))
        except redis.RedisError:
            return True

    def _open_fault(self, retry_after: float, *, trial: bool = False) -> ExternalFault:
        reason = "a trial call is in progress" if trial else "too many failures"
        return ExternalFault(
            f"Circuit open for {self.peer} ({reason}); not calling it.",
            retry_after=round(retry_after, 3),
            details={"circuit": "open", "peer": self.peer},
        )


@functools.cache
def _client() -> redis.Redis:
    # pybreaker's Redis storage decodes the values it reads itself: it needs bytes. Short
    # timeouts and one retry: with Redis down, a call goes on unguarded, and soon.
    return redis.Redis.from_url(settings.REDIS_URL, decode_responses=False,
                                socket_connect_timeout=1, socket_timeout=1,
                                retry=Retry(NoBackoff(), 1))


@functools.cache
def breaker_for(peer: str) -> PeerBreaker:
    """The process's breaker for a peer ("host:port"), with the settings' thresholds."""
    return PeerBreaker(peer, client=_client(), fail_max=settings.WORKFLOW_BREAKER_FAIL_MAX,
                       reset_timeout=settings.WORKFLOW_BREAKER_RESET_TIMEOUT)
