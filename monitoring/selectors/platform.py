"""The platform's moving parts as operators read them: caches, Redis locks, workers."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from django.conf import settings

# --- Caches ----------------------------------------------------------------------------------

# What each cache the platform keeps holds, and where its counts are kept
# (workflows/caching.py counts every lookup as `<cache>:<layer>:<result>`). The plan cache
# has two layers: built plans in each process, and the normalised definitions they are
# built from in Redis, shared by every process; they are shown as two caches.
CACHES: dict[str, tuple[str, str, str]] = {
    "plan": ("plan", "process",
             "Compiled plans of workflow versions, per process (a miss reads `definition`)."),
    "definition": ("plan", "redis",
                   "Normalised definitions of workflow versions, in Redis for every process "
                   "(a miss reads the database)."),
    "node_types": ("node_types", "process",
                   "The node types' metadata served by the API, per process."),
    "schema_patterns": ("schema_patterns", "process",
                        "Compiled regular expressions of user-written JSON Schemas, per "
                        "process."),
}


def cache_figures(name: str, counts: dict[str, dict[str, dict[str, int]]]) -> dict[str, Any]:
    """Hits, misses and the hit rate of one cache in `caching.cache_stats()`'s counts."""
    cache, layer, description = CACHES[name]
    results = counts.get(cache, {}).get(layer, {})
    hits, misses = results.get("hit", 0), results.get("miss", 0)
    lookups = hits + misses
    return {"name": name, "description": description, "hits": hits, "misses": misses,
            "lookups": lookups, "hit_rate": round(hits / lookups, 4) if lookups else None}


def caches_read() -> dict[str, Any]:
    """Every cache's figures since the counts were last reset, summed over all processes."""
    from workflows import caching

    counts = caching.cache_stats()
    return {"since": caching.cache_stats_since(),
            "caches": [cache_figures(name, counts) for name in CACHES]}


# --- Locks -----------------------------------------------------------------------------------

LOCKS_MAX = 1000  # locks one answer lists at most


def _lock_kinds() -> list[tuple[str, str, str]]:
    """(kind, key pattern, what) of every Redis lock the platform takes."""
    from django.core.cache import cache

    from config.beat import LOCK_NAME

    sync_key = cache.make_key("weft:sync:lock:*")
    return [
        ("beat_leader", LOCK_NAME, "The beat that sends the periodic tasks."),
        ("admission", "weft:admission:*", "Admission of a workflow's executions (its "
                                          "concurrency limit), held while one starts."),
        ("sync", sync_key, "A hot reload of a workflow directory."),
    ]


def locks_active() -> list[dict[str, Any]]:
    """The platform's Redis locks held now, with their owner (`host/pid`, when the token
    names one) and when they expire."""
    from django.core.cache import cache
    from django.utils import timezone

    from config.locks import lock_owner
    from workflows.caching import redis_client
    from workflows.models import Workflow

    client = redis_client()
    found: list[tuple[str, str, str]] = []
    for kind, pattern, what in _lock_kinds():
        keys = [pattern] if "*" not in pattern else client.scan_iter(match=pattern, count=500)
        for key in keys:
            found.append((kind, key.decode() if isinstance(key, bytes) else key, what))
            if len(found) >= LOCKS_MAX:
                break
    pipe = client.pipeline(transaction=False)
    for _, key, _ in found:
        pipe.get(key)
        pipe.pttl(key)
    replies = iter(pipe.execute())
    now = timezone.now()
    admission_ids = []
    for kind, key, _ in found:
        if kind == "admission":
            try:
                admission_ids.append(uuid.UUID(key.rsplit(":", 1)[1]))
            except ValueError:
                continue
    names = {str(pk): f"{namespace}/{name}" for pk, namespace, name in
             Workflow.objects.filter(pk__in=admission_ids).values_list("pk", "namespace", "name")}
    locks = []
    for kind, key, what in found:
        value, ttl = next(replies), next(replies)
        if value is None:  # released between the scan and the read
            continue
        subject = key.rsplit(":", 1)[1] if kind != "beat_leader" else ""
        if kind == "admission":
            subject = names.get(subject, subject)
        elif kind == "sync":  # a value of Django's cache: read back through it
            subject = key.split("weft:sync:lock:", 1)[1]
            value = cache.get(f"weft:sync:lock:{subject}")
        expires_in = ttl / 1000 if ttl is not None and ttl >= 0 else None
        locks.append({
            "kind": kind, "key": key, "subject": subject, "description": what,
            "owner": lock_owner(value),
            "expires_in_seconds": None if expires_in is None else round(expires_in, 1),
            "expires_at": None if expires_in is None else now + timedelta(seconds=expires_in),
        })
    return locks



# --- Workers -----------------------------------------------------------------------------------

WORKERS_CACHE_KEY = "weft:performance:workers"
WORKERS_CACHE_SECONDS = 5


def workers_read() -> dict[str, Any]:
    """The Celery workers that answer now (Celery's remote control: `stats` and `active`,
    asked at once, each waiting `PERFORMANCE_WORKERS_TIMEOUT`): per worker its pool
    processes, the tasks running, the tasks it has run, its uptime. Kept for a few seconds,
    so a dashboard's refresh does not broadcast to every worker each time."""
    from django.core.cache import cache
    from django.utils import timezone

    cached = cache.get(WORKERS_CACHE_KEY)
    if cached is not None:
        return cached
    from config.celery import app

    timeout = settings.PERFORMANCE_WORKERS_TIMEOUT

    def ask(method: str) -> dict[str, Any]:
        return getattr(app.control.inspect(timeout=timeout), method)() or {}

    with ThreadPoolExecutor(max_workers=2) as pool:
        stats_future, active_future = pool.submit(ask, "stats"), pool.submit(ask, "active")
        stats, active = stats_future.result(), active_future.result()
    workers = []
    for name in sorted(set(stats) | set(active)):
        worker_stats = stats.get(name, {})
        pool_stats = worker_stats.get("pool", {}) if isinstance(worker_stats, dict) else {}
        processes = pool_stats.get("processes") if isinstance(pool_stats, dict) else None
        running = active.get(name) or []
        workers.append({
            "name": name,
            "processes": len(processes) if isinstance(processes, list)
            else pool_stats.get("max-concurrency"),
            "tasks_running": len(running),
            "tasks_total": sum((worker_stats.get("total") or {}).values()),
            "uptime_seconds": worker_stats.get("uptime"),
            "running": sorted({task.get("name", "") for task in running}),
        })
    result = {"online": len(workers), "asked_at": timezone.now(), "workers": workers}
    cache.set(WORKERS_CACHE_KEY, result, WORKERS_CACHE_SECONDS)
    return result
