"""A workflow that starts itself: a Subworkflow node, or a Loop whose body is a workflow,
naming the workflow being defined. Such a run would start copies of itself without end,
so it is refused when the definition is validated; recursion through other workflows
(A starts B, which starts A) is bounded when it runs, by WORKFLOW_MAX_DEPTH."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from workflows.definitions.normalization import DEFAULT_NAMESPACE


def _references(nodes: Any, path: str, prefix: str) -> Iterator[tuple[str, str, str]]:
    """(node label, field, reference) of every workflow a node of `nodes` starts, inline
    Loop bodies included."""
    if not isinstance(nodes, list):
        return
    for index, node in enumerate(nodes):
        if not isinstance(node, dict) or not isinstance(node.get("data"), dict):
            continue
        label, data = f"{prefix}{node.get('id')}", node["data"]
        at = f"{path}nodes[{index}].data"
        body = data.get("body")
        if node.get("type") == "Subworkflow" and isinstance(data.get("workflow"), str):
            yield label, f"{at}.workflow", data["workflow"]
        elif node.get("type") == "Loop" and isinstance(body, dict):
            if isinstance(body.get("workflow"), str):
                yield label, f"{at}.body.workflow", body["workflow"]
            yield from _references(body.get("nodes"), f"{at}.body.", f"{label}/")


def self_references(definition: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The nodes that start the very workflow `definition` defines: (label, field, name)."""
    name = definition.get("name")
    namespace = definition.get("namespace") or DEFAULT_NAMESPACE
    if not isinstance(name, str) or not isinstance(namespace, str):
        return []
    found = []
    for label, field, reference in _references(definition.get("nodes"), "", ""):
        ref_namespace, _, ref_name = reference.rpartition("/")
        if ref_name == name and (ref_namespace or namespace) == namespace:
            found.append((label, field, f"{namespace}/{name}"))
    return found
