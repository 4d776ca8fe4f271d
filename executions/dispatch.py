"""Send: the engine's tasks, published once the transaction that decided them commits.

The services decide and write; what they want run next goes out from here, by task name,
so no service imports the tasks module (executions/tasks.py imports the services, never
the other way round). A message is published only after the commit: a rolled-back
decision sends nothing, and a crash between the commit and the publish is what the
sweeper's resend and the outbox cover (docs/engine.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from celery import current_app
from django.db import transaction

NODE_RUN = "executions.node_run"
TIMERS_RESUME = "executions.timers_resume"
CHILD_SETTLE = "executions.child_settle"
QUEUE_ADVANCE = "executions.queue_advance"
DEPENDENTS_NOTIFY = "executions.dependents_notify"


@dataclass(frozen=True)
class Message:
    """One task to send: its name, its arguments and its publishing options (priority,
    time limits)."""

    task: str
    args: tuple[Any, ...]
    options: dict[str, Any] = field(default_factory=dict)


def publish(messages: Iterable[Message]) -> None:
    """Send `messages` now, through one producer from Celery's pool. The engine's tasks
    keep no result (their outcome is in the database)."""
    app = current_app
    with app.producer_or_acquire() as producer:
        for message in messages:
            app.send_task(message.task, args=message.args, producer=producer,
                          ignore_result=True, **message.options)


def send_after_commit(messages: Iterable[Message]) -> None:
    """Send `messages` once the current transaction commits (at once outside one)."""
    batch = list(messages)
    if batch:
        transaction.on_commit(lambda: publish(batch))
