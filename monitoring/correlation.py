"""The request context (correlation id, client address) and its journey into Celery tasks.

A request's correlation id is kept in a context variable, written into the headers of
every task the request publishes, and restored in the worker before the task runs, so
that every log line of the work a request started names that request.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from celery.signals import before_task_publish, task_postrun, task_prerun

from config.parsers import whole_text

# Celery already uses `correlation_id` (the AMQP property, set to the task id).
HEADER = "weft_correlation_id"
_VALID = whole_text(r"^[A-Za-z0-9._:-]{1,128}$")

correlation_id_var: ContextVar[str | None] = ContextVar("correlation_id", default=None)
client_address_var: ContextVar[str | None] = ContextVar("client_address", default=None)


def correlation_id_new() -> str:
    return uuid.uuid4().hex


def correlation_id_accept(value: str | None) -> str:
    """The caller's id when it is well-formed, otherwise a fresh one."""
    if value and _VALID.match(value):
        return value
    return correlation_id_new()


def get_correlation_id() -> str | None:
    return correlation_id_var.get()


def get_client_address() -> str | None:
    return client_address_var.get()


@contextmanager
def bound(correlation_id: str | None, client_address: str | None = None) -> Iterator[None]:
    """Run a block with the given request context."""
    cid_token = correlation_id_var.set(correlation_id)
    addr_token = client_address_var.set(client_address)
    try:
        yield
    finally:
        correlation_id_var.reset(cid_token)
        client_address_var.reset(addr_token)


@before_task_publish.connect
def _carry_into_task(headers: dict[str, Any] | None = None, **kwargs: Any) -> None:
    correlation_id = correlation_id_var.get()
    if headers is not None and correlation_id and HEADER not in headers:
        headers[HEADER] = correlation_id


_task_tokens: dict[str, Any] = {}


@task_prerun.connect
def _restore_in_worker(task_id: str | None = None, task: Any = None, **kwargs: Any) -> None:
    correlation_id = None
    if task is not None:
        request = task.request
        correlation_id = getattr(request, HEADER, None) or (request.headers or {}).get(HEADER)
    if task_id is not None:
        _task_tokens[task_id] = correlation_id_var.set(correlation_id or None)


@task_postrun.connect
def _forget_in_worker(task_id: str | None = None, **kwargs: Any) -> None:
    token = _task_tokens.pop(task_id, None) if task_id is not None else None
    if token is not None:
        correlation_id_var.reset(token)
