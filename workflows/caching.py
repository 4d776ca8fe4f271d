"""Caches of what never changes: a per-process LRU in front of Redis, with hit/miss counts.

Only immutable things are cached: a workflow version's compiled plan (a version is never
edited; its key holds the version's pk *and* checksum, so an entry cannot go stale even
when a database is recreated and pks are reused) and the node types' metadata (keyed by a
fingerprint of the registry, per process). Mutable state (executions, nodes, waits,
logs) is never cached: it is always read from the database.

Two layers:

- `process`: a bounded LRU per process (an OrderedDict under a lock) holding the built
  objects (a `Plan`, a list of dicts). A hit costs a dict lookup.
- `redis`: JSON strings (never pickle) under `weft:cache:<cache>:<key>` on `REDIS_URL`,
  shared by every process, with a TTL (entries are rebuilt after it, never wrong). A
  process miss reads it; a Redis miss builds the value from the database and stores it.
  Redis stores the JSON source of a value (e.g. the normalised definition); the process
  layer keeps what is built from it (the plan is not JSON, so it is rebuilt from it).

Every lookup is counted twice: in the Prometheus counter `weft_cache_requests_total`
`{cache, layer, result}` of this process, and in the Redis hash `weft:cache:stats`
(field `<cache>:<layer>:<result>`) that sums every process, read with `cache_stats()`.
The Redis counts are batched per process and flushed at most once a second (or every
1000 lookups, or with the next Redis read of the cache), so a process hit never waits
for Redis; a process that dies loses at most its last second of counts.

When Redis cannot be reached, the caches work from the process layer and the database
alone, and Redis is not tried again for 30 seconds (no lookup waits on a dead server).
"""

from __future__ import annotations

import atexit
import functools
import json
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

import redis
from celery.signals import worker_process_shutdown
from django.conf import settings

from monitoring import metrics

T = TypeVar("T")

logger = logging.getLogger(__name__)

KEY_PREFIX = "weft:cache:"
STATS_KEY = "weft:cache:stats"
STATS_SINCE_KEY = "weft:cache:stats:since"
REDIS_TTL_SECONDS = 7 * 24 * 3600
REDIS_RETRY_AFTER_SECONDS = 30.0
FLUSH_INTERVAL_SECONDS = 1.0
FLUSH_PENDING_MAX = 1000

_MISSING = object()


class ProcessLRU:
    """A bounded least-recently-used map, safe between threads."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._data: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any:
        """The value, or `_MISSING`."""
        with self._lock:
            value = self._data.get(key, _MISSING)
            if value is not _MISSING:
                self._data.move_to_end(key)
            return value

    def put(self, key: Any, value: Any) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)


_LRUS: dict[str, ProcessLRU] = {}


def process_cache(name: str, maxsize: int) -> ProcessLRU:
    """The process layer of the cache `name` (one per name and process)."""
    lru = _LRUS.get(name)
    if lru is None:
        lru = _LRUS.setdefault(name, ProcessLRU(maxsize))
    return lru


def process_caches_clear() -> None:
    """Empty every process layer: this process then behaves like a fresh one."""
    for lru in _LRUS.values():
        lru.clear()


# --- Redis -------------------------------------------------------------------------------------

_redis_down_until = 0.0


@functools.cache
def _client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1,
                                socket_timeout=1)


def redis_client() -> redis.Redis:
    """The platform's Redis (`REDIS_URL`): caches, counts, locks."""
    return _client()


def _redis() -> redis.Redis | None:
    """The client, or None while Redis is presumed down."""
    return None if time.monotonic() < _redis_down_until else _client()


def _redis_failed(exc: Exception) -> None:
    global _redis_down_until
    _redis_down_until = time.monotonic() + REDIS_RETRY_AFTER_SECONDS
    logger.warning("cache: Redis unavailable (%s); process layer only for %ss",
                   exc, int(REDIS_RETRY_AFTER_SECONDS))


# --- counts ------------------------------------------------------------------------------------

_pending: dict[str, int] = {}
_pending_total = 0
_last_flush = time.monotonic()
_count_lock = threading.Lock()


def _count(cache: str, layer: str, result: str) -> None:
    """Count one lookup: Prometheus at once, the shared Redis hash in batches."""
    global _pending_total
    metrics.cache_observe(cache, layer, result)
    field = f"{cache}:{layer}:{result}"
    with _count_lock:
        _pending[field] = _pending.get(field, 0) + 1
        _pending_total += 1
        due = (_pending_total >= FLUSH_PENDING_MAX
               or time.monotonic() - _last_flush >= FLUSH_INTERVAL_SECONDS)
    if due:
        counts_flush()


def _take_pending() -> dict[str, int]:
    global _pending, _pending_total, _last_flush
    with _count_lock:
        taken, _pending, _pending_total = _pending, {}, 0
        _last_flush = time.monotonic()
    return taken


def _put_back(counts: dict[str, int]) -> None:
    global _pending_total
    with _count_lock:
        for field, n in counts.items():
            _pending[field] = _pending.get(field, 0) + n
            _pending_total += n


def _queue_counts(pipe: Any, counts: dict[str, int]) -> None:
    for field, n in counts.items():
        pipe.hincrby(STATS_KEY, field, n)


def counts_flush() -> None:
    """Add this process's pending counts to the shared hash (one pipelined round trip)."""
    counts = _take_pending()
    client = _redis()
    if not counts or client is None:
        _put_back(counts)
        return
    try:
        pipe = client.pipeline(transaction=False)
        _queue_counts(pipe, counts)
        pipe.execute()
    except redis.RedisError as exc:
        _put_back(counts)
        _redis_failed(exc)


def _forget_parent_counts() -> None:
    """A forked child (a prefork pool process) must not add its parent's counts again."""
    global _pending, _pending_total, _count_lock
    _pending, _pending_total, _count_lock = {}, 0, threading.Lock()


atexit.register(counts_flush)
os.register_at_fork(after_in_child=_forget_parent_counts)


@worker_process_shutdown.connect
def _worker_process_flush(**kwargs: Any) -> None:
    """A pool process leaves with os._exit (no atexit): flush its last counts first."""
    counts_flush()


def cache_stats() -> dict[str, dict[str, dict[str, int]]]:
    """Lookups of every process so far, `{cache: {layer: {result: count}}}`.

    This process's pending counts are flushed first; other processes' last second of
    lookups may not be in yet. Empty when Redis cannot be reached.
    """
    counts_flush()
    client = _redis()
    if client is None:
        return {}
    try:
        raw = client.hgetall(STATS_KEY)
    except redis.RedisError as exc:
        _redis_failed(exc)
        return {}
    stats: dict[str, dict[str, dict[str, int]]] = {}
    for field, value in raw.items():
        cache, layer, result = field.decode().split(":", 2)
        stats.setdefault(cache, {}).setdefault(layer, {})[result] = int(value)
    return stats


def cache_stats_since() -> str | None:
    """When the counts were last reset (ISO 8601), None if never."""
    client = _redis()
    if client is None:
        return None
    try:
        value = client.get(STATS_SINCE_KEY)
    except redis.RedisError as exc:
        _redis_failed(exc)
        return None
    return value.decode() if value else None


def cache_stats_reset(*, at: str) -> dict[str, dict[str, dict[str, int]]]:
    """Zero every process's counts (this one's pending counts included); returns the counts
    as they were. Other processes' unflushed counts (at most their last second) arrive
    after the reset and count towards the new period."""
    before = cache_stats()
    _take_pending()
    client = _client()
    pipe = client.pipeline(transaction=True)
    pipe.delete(STATS_KEY)
    pipe.set(STATS_SINCE_KEY, at)
    pipe.execute()
    return before


# --- lookups -----------------------------------------------------------------------------------


def cached_in_process(cache: str, lru: ProcessLRU, key: Any, build: Callable[[], T]) -> T:
    """The value for `key` from this process's layer, built on a miss."""
    value = lru.get(key)
    if value is not _MISSING:
        _count(cache, "process", "hit")
        return value
    _count(cache, "process", "miss")
    value = build()
    lru.put(key, value)
    return value


def cached(cache: str, lru: ProcessLRU, key: str, *, load: Callable[[], Any],
           make: Callable[[Any], T]) -> T:
    """The value for `key`: from this process, else made from the JSON source in Redis,
    else made from `load()` (whose JSON-serialisable result is then stored in Redis).

    `key` must identify an immutable value: entries are never invalidated, only expire.
    """
    value = lru.get(key)
    if value is not _MISSING:
        _count(cache, "process", "hit")
        return value
    _count(cache, "process", "miss")
    redis_key = f"{KEY_PREFIX}{cache}:{key}"
    client = _redis()
    source: Any = _MISSING
    if client is not None:
        counts = _take_pending()  # ride along with the read: one round trip
        try:
            pipe = client.pipeline(transaction=False)
            pipe.get(redis_key)
            _queue_counts(pipe, counts)
            raw = pipe.execute()[0]
        except redis.RedisError as exc:
            _put_back(counts)
            _redis_failed(exc)
        else:
            if raw is not None:
                source = json.loads(raw)
            _count(cache, "redis", "miss" if raw is None else "hit")
    if source is _MISSING:
        source = load()
        client = _redis()
        if client is not None:
            try:
                client.set(redis_key, json.dumps(source, separators=(",", ":")),
                           ex=REDIS_TTL_SECONDS)
            except redis.RedisError as exc:
                _redis_failed(exc)
    value = make(source)
    lru.put(key, value)
    return value
