"""The compiled form of a workflow version: the graph the engine walks.

A version is immutable, so its plan is cached for good: per process, and in Redis. The
engine does not hand the graph to Celery as one canvas: each node is a task, and a node is
dispatched by the transaction that finishes its last predecessor. Completions of one
execution are serialised by a row lock on the execution, which makes that check an atomic
join counter: exactly one completion sees every input of a join finished. This runs any
DAG with full parallelism and no duplicated node, including graphs with no
series-parallel form (A->C, A->D, B->D, B->E); see docs/engine.md.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings as django_settings

from workflows.caching import cached, process_cache


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    handle: str | None


@dataclass(frozen=True)
class RetryPolicy:
    """How a node's failed attempts are tried again (as Temporal's RetryPolicy): at most
    `max_attempts` attempts in all; before attempt n+1 a delay of `initial_delay *
    backoff ** (n - 1)` seconds, capped at `max_delay`, drawn uniformly below that when
    `jitter` is on ("full jitter"); a fault's own `retry_after` is the least delay (up to
    `WORKFLOW_RETRY_DELAY_MAX`). Values
    out of range are refused with the field named; `RetryPolicy.of` builds one from a
    node's `retry` and the workflow's settings, whatever a stored definition holds."""

    max_attempts: int
    initial_delay: float
    backoff: float
    max_delay: float
    jitter: bool = True

    def __post_init__(self) -> None:
        checks = {
            "max_attempts": (isinstance(self.max_attempts, int)
                             and not isinstance(self.max_attempts, bool)
                             and self.max_attempts >= 1),
            "initial_delay": _finite(self.initial_delay) and self.initial_delay >= 0,
            "backoff": _finite(self.backoff) and 1 <= self.backoff <= RETRY_BACKOFF_MAX,
            "max_delay": _finite(self.max_delay) and self.max_delay >= 0,
            "jitter": isinstance(self.jitter, bool),
        }
        for name, valid in checks.items():
            if not valid:
                raise ValueError(f"RetryPolicy.{name}: {getattr(self, name)!r} is out of range")

    @classmethod
    def of(cls, node: dict[str, Any], workflow_settings: dict[str, Any]) -> RetryPolicy:
        """The policy of a plan's node (its numbers already held within the settings'
        maxima by `_node_bounded`): the node's `retry` where it says, else the workflow's
        `max_retries`, else the platform's defaults."""
        retry = node.get("retry") if isinstance(node.get("retry"), dict) else {}
        limits = django_settings
        if "max_attempts" in retry:
            attempts = int(retry["max_attempts"])
        else:
            retries = workflow_settings.get("max_retries", limits.WORKFLOW_MAX_RETRIES)
            attempts = int(retries) + 1
        return cls(
            max_attempts=max(1, attempts),
            initial_delay=float(retry.get("initial_delay", limits.WORKFLOW_RETRY_INITIAL_DELAY)),
            backoff=min(max(float(retry.get("backoff", limits.WORKFLOW_RETRY_BACKOFF)), 1.0),
                        RETRY_BACKOFF_MAX),
            max_delay=float(retry.get("max_delay", limits.WORKFLOW_RETRY_MAX_DELAY)),
            jitter=retry.get("jitter", True) is not False,
        )

    def retries(self, attempt: int, *, retryable: bool) -> bool:
        """Whether a fault on `attempt` (1-based) is tried again."""
        return retryable and attempt < self.max_attempts

    def delay(self, attempt: int, *, retry_after: float | None = None,
              rng: random.Random | None = None) -> float:
        """Seconds to wait after a fault on `attempt` before the next one."""
        try:
            grown = self.initial_delay * self.backoff ** (attempt - 1)
        except OverflowError:  # far past the ceiling (a delay of 0 never grows)
            grown = math.inf if self.initial_delay else 0.0
        ceiling = min(self.max_delay, grown)
        if self.jitter:
            ceiling = (rng or random).uniform(0, ceiling)
        # A peer's own delay (an HTTP Retry-After) counts up to the longest delay a
        # definition may set; a NaN or infinite one from a node's code counts as none.
        least = min(retry_after, django_settings.WORKFLOW_RETRY_DELAY_MAX) \
            if _finite(retry_after) and retry_after > 0 else 0.0
        return max(ceiling, least)


def _finite(value: Any) -> bool:
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value))


@dataclass(frozen=True)
class Plan:
    """Nodes by id, their incoming and outgoing edges, roots and leaves."""

    nodes: dict[str, dict[str, Any]]
    incoming: dict[str, tuple[Edge, ...]]
    outgoing: dict[str, tuple[Edge, ...]]
    roots: tuple[str, ...]
    leaves: tuple[str, ...]
    settings: dict[str, Any] = field(default_factory=dict)
    compensators: frozenset[str] = frozenset()
    output: Any = None  # the workflow's `output` template, if any
    # Nodes whose `data` mentions `nodes` anywhere: only their templates can read the
    # outputs of other nodes (a template names what it reads); see `_needs_nodes` in
    # executions/services/nodes.py.
    mention_nodes: frozenset[str] = frozenset()
    # Each node's retry policy, made once per version (the platform's defaults are read
    # when the plan is built, that is once per process).
    retry: dict[str, RetryPolicy] = field(default_factory=dict)

    @property
    def concurrency_limited(self) -> bool:
        """The workflow caps its running executions (`settings.concurrency`)."""
        return int(self.settings.get("concurrency", 0) or 0) > 0

    @property
    def flow_nodes(self) -> list[str]:
        """The nodes of the normal flow: all but the compensating ones."""
        return [node_id for node_id in self.nodes if node_id not in self.compensators]

    def node_type(self, node_id: str) -> str:
        return self.nodes[node_id]["type"]


def _bounded(value: Any, maximum: float) -> float | None:
    """A stored number of seconds (or attempts) within [0, maximum]; None (the default
    applies) when it is not a number at all."""
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        return None
    return min(max(value, 0), maximum)


def _clamped(holder: dict[str, Any], bounds: dict[str, float]) -> dict[str, Any]:
    """`holder` with each of `bounds`' keys it sets held within its maximum (a copy)."""
    bounded = dict(holder)
    for key, maximum in bounds.items():
        if key in bounded:
            value = _bounded(bounded[key], maximum)
            if value is None:
                del bounded[key]
            else:
                bounded[key] = value
    return bounded


def _node_bounded(node: dict[str, Any]) -> dict[str, Any]:
    """A node with its timeout and retry policy held within the settings' maxima. A
    definition is checked against them when it is saved, but one stored earlier (or
    written around the API) may hold any number, and an unbounded one makes a time
    computation overflow and the node hang in `running`."""
    limits = django_settings
    node = _clamped(node, {"timeout": limits.WORKFLOW_NODE_TIMEOUT_MAX})
    if isinstance(node.get("retry"), dict):
        node["retry"] = _clamped(node["retry"], {
            "initial_delay": limits.WORKFLOW_RETRY_DELAY_MAX,
            "max_delay": limits.WORKFLOW_RETRY_DELAY_MAX,
            "backoff": RETRY_BACKOFF_MAX,
            "max_attempts": limits.WORKFLOW_MAX_ATTEMPTS,
        })
    return node


# The definition schema's bound on `retry.backoff` (workflows/definitions/schema.py).
RETRY_BACKOFF_MAX = 10


def _settings_bounded(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        return {}
    return _clamped(value, {
        "timeout": django_settings.WORKFLOW_EXECUTION_TIMEOUT_MAX,
        "max_retries": django_settings.WORKFLOW_MAX_ATTEMPTS - 1,
    })


def plan_build(definition: dict[str, Any]) -> Plan:
    """The plan of a validated, normalised definition, its times and counts held within
    the settings' maxima (`_node_bounded`): every read of them by the engine goes through
    the plan."""
    nodes = {node["id"]: _node_bounded(node) for node in definition.get("nodes", [])}
    incoming: dict[str, list[Edge]] = {node_id: [] for node_id in nodes}
    outgoing: dict[str, list[Edge]] = {node_id: [] for node_id in nodes}
    for raw in definition.get("edges", []):
        edge = Edge(raw["source"], raw["target"], raw.get("sourceHandle"))
        outgoing[edge.source].append(edge)
        incoming[edge.target].append(edge)
    compensators = frozenset(node["compensation"] for node in nodes.values()
                             if node.get("compensation"))
    settings = _settings_bounded(definition.get("settings", {}))
    return Plan(
        nodes=nodes,
        incoming={key: tuple(value) for key, value in incoming.items()},
        outgoing={key: tuple(value) for key, value in outgoing.items()},
        roots=tuple(node_id for node_id in nodes
                    if not incoming[node_id] and node_id not in compensators),
        leaves=tuple(node_id for node_id in nodes
                     if not outgoing[node_id] and node_id not in compensators),
        settings=settings,
        compensators=compensators,
        output=definition.get("output"),
        mention_nodes=frozenset(node_id for node_id, node in nodes.items()
                                if "nodes" in json.dumps(node.get("data") or {})),
        retry={node_id: RetryPolicy.of(node, settings) for node_id, node in nodes.items()},
    )


PLAN_CACHE = "plan"
_PLANS = process_cache(PLAN_CACHE, maxsize=512)


def _body(definition: dict[str, Any], graph_path: str) -> dict[str, Any]:
    """The inline body a graph path names ("loop", or "outer/inner" for nested loops);
    it runs with the settings of the workflow around it."""
    graph = definition
    for loop_id in graph_path.split("/"):
        node = next(node for node in graph["nodes"] if node["id"] == loop_id)
        graph = node["data"]["body"]
    return {**graph, "settings": definition.get("settings", {})}


def plan_for(version: Any, graph_path: str = "") -> Plan:
    """The plan of a stored version (or of a loop body in it). Versions never change, so
    it is cached for good (workflows/caching.py): built once per process, its normalised
    graph shared through Redis as JSON. The key holds the checksum, so a reused pk (a
    recreated database) never finds another version's plan."""

    def load() -> dict[str, Any]:
        definition = version.definition
        return _body(definition, graph_path) if graph_path else definition

    return cached(PLAN_CACHE, _PLANS, f"{version.pk}:{version.checksum}:{graph_path}",
                  load=load, make=plan_build)


def execution_plan(execution: Any) -> Plan:
    """The plan an execution runs: its version's graph, or a loop body of it."""
    return plan_for(execution.version, execution.graph_path)


def edge_active(edge: Edge, source_status: str, source_branch: str) -> bool:
    """An edge is active when its source completed and, for a branch, took this handle."""
    if source_status != "completed":
        return False
    return edge.handle is None or edge.handle == source_branch
