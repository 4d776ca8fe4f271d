"""The normal form of a definition (defaults made explicit) and its checksum."""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

from workflows.nodes.registry import NodeTypeRegistry, default_registry

DEFAULT_NAMESPACE = "default"
SETTINGS_DEFAULTS: dict[str, Any] = {
    "timeout": 1800,
    "max_retries": 3,
    "priority": "normal",
    "concurrency": 0,
    "overlap": "queue",
    "on_failure": "fail",
    "dependencies": [],
}
DEPENDENCY_CONDITION_DEFAULT = "completed"


def _normalize_graph(graph: dict[str, Any], registry: NodeTypeRegistry) -> None:
    """Fill `edges: []` and every node's `data: {}`, also inside inline graphs (Loop bodies)."""
    graph.setdefault("edges", [])
    nodes = graph.get("nodes")
    for node in nodes if isinstance(nodes, list) else []:
        if not isinstance(node, dict):
            continue
        data = node.setdefault("data", {})
        node_type = registry.get(node["type"]) if isinstance(node.get("type"), str) else None
        if node_type is None or not isinstance(data, dict):
            continue
        for name in node_type.graph_fields:
            if isinstance(data.get(name), dict) and "nodes" in data[name]:
                _normalize_graph(data[name], registry)


def definition_normalize(definition: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of the definition with every default written out.

    Defaults filled:
    - `namespace`: "default"; `description`: "";
    - `settings`: `timeout` 1800, `max_retries` 3, `priority` "normal", `concurrency` 0,
      `overlap` "queue", `on_failure` "fail", `dependencies` [] (each dependency's
      `condition`: "completed");
    - `edges`: [] when absent;
    - every node's `data`: {} when absent, also for the nodes of inline Loop bodies.

    Edges are kept as given (no `sourceHandle: null` is added), and no other key is added:
    node `retry`, `timeout` and `on_failure` stay absent so that they keep following the
    workflow's settings. Parts of the wrong type (say `settings` not an object) are left as
    they are, so an invalid definition can be normalised and then reported by validation.
    """
    result = copy.deepcopy(definition)
    result.setdefault("namespace", DEFAULT_NAMESPACE)
    result.setdefault("description", "")
    settings = result.setdefault("settings", {})
    if isinstance(settings, dict):
        for key, value in SETTINGS_DEFAULTS.items():
            settings.setdefault(key, copy.deepcopy(value))
        dependencies = settings["dependencies"]
        if isinstance(dependencies, list):
            for dependency in dependencies:
                if isinstance(dependency, dict):
                    dependency.setdefault("condition", DEPENDENCY_CONDITION_DEFAULT)
    _normalize_graph(result, default_registry())
    return result


def definition_checksum(definition: dict[str, Any]) -> str:
    """SHA-256 (hex) of the normalised definition as canonical JSON.

    Canonical: keys sorted, no whitespace, non-ASCII kept as UTF-8. Two definitions that
    differ only in key order, in JSON versus YAML form or in defaults written out or left
    implicit have the same checksum; a change of list order (nodes, edges) is a change.
    """
    canonical = json.dumps(
        definition_normalize(definition),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
