"""The Redis connection pool of Django's cache, one per process.

Django keeps a cache object per request context (`django.core.cache.caches` is
context-local), and its Redis client a connection pool per cache object: under ASGI every
request would open a new TCP connection to Redis for its first cache read (the API's
throttling reads one per request). `ProcessConnectionPool.from_url` hands out one pool per
URL and options for the whole process instead; redis-py resets a pool inherited across a
fork itself.
"""

from __future__ import annotations

import threading
from typing import Any, ClassVar

import redis


class ProcessConnectionPool(redis.ConnectionPool):
    _pools: ClassVar[dict[tuple[str, str], redis.ConnectionPool]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()

    @classmethod
    def from_url(cls, url: str, **options: Any) -> redis.ConnectionPool:
        key = (url, repr(sorted(options.items())))
        with cls._lock:
            pool = cls._pools.get(key)
            if pool is None:
                pool = cls._pools[key] = super().from_url(url, **options)
            return pool
