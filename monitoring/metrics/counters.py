"""Counters and histograms, observed where things happen, after the commit of the change
(a rolled-back change counts nothing): execution statuses from `logs_write`, node attempts
and the engine's claims and completions in executions/services/nodes.py, the sweeper's
repairs, outbox publishes in the dispatcher, cache lookups, security events.

In multiprocess mode (`processes`) each process writes them to the shared directory, and
`/metrics` sums them over every process of the host."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from prometheus_client import Counter, Histogram

from monitoring.metrics.processes import multiprocess_setup

multiprocess_setup()  # before the first metric: it picks where the values are kept

EXECUTIONS = Counter(
    "weft_executions", "Executions that reached a status, by workflow.", ["workflow", "status"]
)
EXECUTION_DURATION = Histogram(
    "weft_execution_duration_seconds", "Time from start to a terminal status.",
    ["workflow", "status"],
    buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 1800, 3600, 21600, 86400),
)
NODE_RUNS = Counter(
    "weft_node_runs", "Node attempts that ended, by node type, workflow and outcome "
    "(completed, failed, retrying).", ["node_type", "workflow", "status"])
NODE_DURATION = Histogram(
    "weft_node_duration_seconds", "Time one node attempt ran, by node type, workflow and "
    "outcome.", ["node_type", "workflow", "status"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
NODE_RETRIES = Counter("weft_node_retries", "Node attempts that failed and will be retried.",
                       ["node_type"])
ENGINE_CLAIMS = Counter(
    "weft_engine_claims", "Claims of a node for an attempt by a node task: claimed, or "
    "skipped (already claimed or finished, a duplicate delivery, an execution not running).",
    ["result"])
ENGINE_COMPLETIONS = Counter(
    "weft_engine_completions", "Ends of node attempts the engine recorded, by outcome: "
    "completed, failed, retrying, waiting (a wait opened), superseded (the attempt was no "
    "longer the running one: cancelled, or another attempt finished first).", ["outcome"])
SWEEPER_ACTIONS = Counter(
    "weft_sweeper_actions", "Repairs the sweeper made, by kind.", ["action"])
OUTBOX_PUBLISHED = Counter("weft_outbox_published", "Outbox events published.")
OUTBOX_FAILED = Counter("weft_outbox_failed", "Failed attempts to publish an outbox event.")
OUTBOX_DEAD = Counter("weft_outbox_dead", "Outbox events given up after their last attempt.")
CACHE_REQUESTS = Counter(
    "weft_cache_requests", "Cache lookups by cache (plan, node_types, schema_patterns), layer "
    "(process, redis) and result (hit, miss).", ["cache", "layer", "result"])

SECURITY_EVENTS = Counter(
    "weft_security_events", "Failed logins (API and admin), throttled logins and refused "
    "permissions.", ["event"])

CLAIM_RESULTS = ("claimed", "skipped")
COMPLETION_OUTCOMES = ("completed", "failed", "retrying", "waiting", "superseded")
# The sweeper's own names for its repairs (executions/services/sweeper.py `sweep`);
# `resend_deferred` is not a repair (a resend held back during a backlog).
SWEEPER_REPAIRS = ("admitted", "lost", "retries", "resent", "timed_out", "children_settled",
                   "dependents_notified")
# Every lookup the caches count (workflows/caching.py; monitoring/selectors/platform.py
# names `plan`/`redis` the `definition` cache).
CACHE_LAYERS = (("plan", "process"), ("plan", "redis"), ("node_types", "process"),
                ("schema_patterns", "process"))
CACHE_RESULTS = ("hit", "miss")

TERMINAL_EVENTS = ("execution.completed", "execution.failed", "execution.cancelled")


def _series_initialise() -> None:
    """The series of known label values exist from the start at 0, so a rule or a panel
    finds them before the first event (a counter that appears late loses its first
    increase to `rate()`)."""
    for result in CLAIM_RESULTS:
        ENGINE_CLAIMS.labels(result)
    for outcome in COMPLETION_OUTCOMES:
        ENGINE_COMPLETIONS.labels(outcome)
    for action in SWEEPER_REPAIRS:
        SWEEPER_ACTIONS.labels(action)
    for cache, layer in CACHE_LAYERS:
        for result in CACHE_RESULTS:
            CACHE_REQUESTS.labels(cache, layer, result)


_series_initialise()


@functools.lru_cache(maxsize=4096)
def _workflow_label(workflow_id: Any) -> str:
    from workflows.models import Workflow

    workflow = Workflow.objects.filter(pk=workflow_id).only("namespace", "name").first()
    return f"{workflow.namespace}/{workflow.name}" if workflow else str(workflow_id)


def _workflow_of(execution: Any) -> str:
    if type(execution).workflow.is_cached(execution):
        return f"{execution.workflow.namespace}/{execution.workflow.name}"
    return _workflow_label(execution.workflow_id)


def log_entries_observe(entries: Iterable[Any]) -> None:
    """Count the execution statuses the committed log entries record, with durations."""
    from executions.models import ExecutionStatus

    for entry in entries:
        kind, _, status = entry.event.partition(".")
        if kind != "execution" or status not in ExecutionStatus.values:
            continue
        execution = entry.execution
        workflow = _workflow_of(execution)
        EXECUTIONS.labels(workflow, status).inc()
        if entry.event in TERMINAL_EVENTS and execution.started_at and execution.finished_at:
            EXECUTION_DURATION.labels(workflow, status).observe(
                max(0.0, (execution.finished_at - execution.started_at).total_seconds()))


def node_observe(row: Any, status: str, execution: Any) -> None:
    """One node attempt ended (completed, failed, or retrying): counted with its duration,
    and as an engine completion, after commit."""
    started: datetime | None = row.started_at
    ended = timezone.now()

    def observe() -> None:
        workflow = _workflow_of(execution)
        NODE_RUNS.labels(row.node_type, workflow, status).inc()
        ENGINE_COMPLETIONS.labels(status).inc()
        if status == "retrying":
            NODE_RETRIES.labels(row.node_type).inc()
        if started is not None:
            NODE_DURATION.labels(row.node_type, workflow, status).observe(
                max(0.0, (ended - started).total_seconds()))

    transaction.on_commit(observe)


def claim_observe(claimed: bool) -> None:
    """A node task's claim of its node: taken for an attempt, or skipped."""
    result = "claimed" if claimed else "skipped"
    transaction.on_commit(ENGINE_CLAIMS.labels(result).inc)


def completion_observe(outcome: str) -> None:
    """An attempt's end the engine handled that is not a node run's outcome: a wait opened,
    or a completion that found the attempt superseded."""
    transaction.on_commit(ENGINE_COMPLETIONS.labels(outcome).inc)


def sweeper_observe(actions: Mapping[str, int]) -> None:
    """The repairs of one sweep (each committed in its own transaction)."""
    for action in SWEEPER_REPAIRS:
        if actions.get(action):
            SWEEPER_ACTIONS.labels(action).inc(actions[action])


def outbox_observe(*, published: int = 0, failed: int = 0, dead: int = 0) -> None:
    OUTBOX_PUBLISHED.inc(published)
    OUTBOX_FAILED.inc(failed)
    OUTBOX_DEAD.inc(dead)


def security_event_observe(event: str) -> None:
    """A failed login, a throttled login or a refused permission (monitoring.services)."""
    SECURITY_EVENTS.labels(event).inc()


def cache_observe(cache: str, layer: str, result: str) -> None:
    """One cache lookup (workflows/caching.py, which also sums them across processes)."""
    CACHE_REQUESTS.labels(cache, layer, result).inc()
