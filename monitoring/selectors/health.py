"""Readiness of each backing service, and the audit log."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

from asgiref.sync import async_to_sync
from channels import DEFAULT_CHANNEL_LAYER
from channels.layers import channel_layers
from django.conf import settings
from django.db import connection
from django.db.models import QuerySet

from monitoring.models import AuditLog


@dataclass(frozen=True)
class Check:
    """The outcome of probing one backing service: `error` names the kind of failure,
    `detail` says what failed (hosts, ports and users of the services among it)."""

    name: str
    ok: bool
    latency_ms: float
    error: str = ""
    detail: str = ""

    def as_dict(self, *, detailed: bool = False) -> dict:
        result: dict = {"ok": self.ok, "latency_ms": round(self.latency_ms, 1)}
        if self.error:
            result["error"] = self.error
            if detailed and self.detail:
                result["detail"] = self.detail
        return result


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _broker() -> None:
    from config.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=settings.READINESS_TIMEOUT)


def _result_backend() -> None:
    from config.celery import app

    backend = app.backend
    client = getattr(backend, "client", None)
    if client is not None and hasattr(client, "ping"):
        client.ping()
    else:
        backend.get_task_meta(f"readiness-{uuid.uuid4().hex}")


def _channel_layer() -> None:
    # A layer instance of its own: the process's shared one is busy receiving for every
    # open websocket, and channels_redis refuses a receive from a second event loop.
    if DEFAULT_CHANNEL_LAYER not in channel_layers.configs:
        raise RuntimeError("no channel layer configured")

    async def round_trip() -> None:
        layer = channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)
        try:
            channel = await layer.new_channel("readiness.")
            await layer.send(channel, {"type": "readiness.probe"})
            message = await asyncio.wait_for(layer.receive(channel), settings.READINESS_TIMEOUT)
            if message.get("type") != "readiness.probe":
                raise RuntimeError("channel layer returned an unexpected message")
        finally:
            close = getattr(layer, "close_pools", None)
            if close is not None:
                await close()

    async_to_sync(round_trip)()


CHECKS: dict[str, Callable[[], None]] = {
    "database": _database,
    "broker": _broker,
    "result_backend": _result_backend,
    "channel_layer": _channel_layer,
}


def _probe(name: str, check: Callable[[], None]) -> Check:
    started = time.perf_counter()
    try:
        check()
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready", reported by name
        elapsed = (time.perf_counter() - started) * 1000
        return Check(name, False, elapsed, f"{type(exc).__name__} (details in the log)",
                     f"{type(exc).__name__}: {exc}")
    return Check(name, True, (time.perf_counter() - started) * 1000)


def readiness() -> list[Check]:
    """Probe every backing service in parallel, each bounded by READINESS_TIMEOUT."""
    timeout = settings.READINESS_TIMEOUT + 1
    results: list[Check] = []
    database = _probe("database", _database)  # the connection belongs to this thread
    results.append(database)
    others = {name: check for name, check in CHECKS.items() if name != "database"}
    pool = ThreadPoolExecutor(max_workers=len(others))
    try:
        futures = {name: pool.submit(_probe, name, check) for name, check in others.items()}
        for name, future in futures.items():
            try:
                results.append(future.result(timeout=timeout))
            except FutureTimeout:
                results.append(Check(name, False, timeout * 1000, "timed out",
                                     f"no answer within {timeout} s"))
    finally:
        pool.shutdown(wait=False, cancel_futures=True)  # a hung probe must not hold the answer
    return results


def audit_log_list() -> QuerySet[AuditLog]:
    return AuditLog.objects.select_related("actor").all()
