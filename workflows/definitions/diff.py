"""What changed between two definitions: nodes, edges and top-level fields, leaf by leaf."""

from __future__ import annotations

import json
from typing import Any

from config.parsers import field_path
from workflows.definitions.normalization import definition_normalize
from workflows.definitions.problems import edge_label

GRAPH_KEYS = ("nodes", "edges")


def _same(before: Any, after: Any) -> bool:
    """JSON equality: unlike `==`, true is not 1 and 1 is not 1.0."""
    return json.dumps(before, sort_keys=True) == json.dumps(after, sort_keys=True)


def _changes(before: Any, after: Any, path: str) -> list[dict[str, Any]]:
    """Leaf-level changes: objects are compared key by key, anything else (lists too) whole.

    A key present on one side only is a change from or to null.
    """
    if not (isinstance(before, dict) and isinstance(after, dict)):
        return [] if _same(before, after) else [{"field": path, "before": before, "after": after}]
    changes = []
    for key in [*before, *(key for key in after if key not in before)]:
        key_path = field_path([key], path)
        if key not in after:
            changes.append({"field": key_path, "before": before[key], "after": None})
        elif key not in before:
            changes.append({"field": key_path, "before": None, "after": after[key]})
        else:
            changes.extend(_changes(before[key], after[key], key_path))
    return changes


def _keyed(items: Any, key: Any) -> dict[str, dict[str, Any]]:
    """Items by identity, in document order; the first of a repeated identity wins."""
    result: dict[str, dict[str, Any]] = {}
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and key(item) is not None:
            result.setdefault(key(item), item)
    return result


def _group(before: dict[str, dict], after: dict[str, dict], ignore: str | None) -> dict[str, Any]:
    changed = []
    for identity in before.keys() & after.keys():
        old = {k: v for k, v in before[identity].items() if k != ignore}
        new = {k: v for k, v in after[identity].items() if k != ignore}
        changes = _changes(old, new, "")
        if changes:
            changed.append({"id": identity, "changes": changes})
    position = {identity: index for index, identity in enumerate(after)}
    changed.sort(key=lambda item: position[item["id"]])
    return {
        "added": [identity for identity in after if identity not in before],
        "removed": [identity for identity in before if identity not in after],
        "changed": changed,
    }


def _node_id(node: dict[str, Any]) -> str | None:
    return node["id"] if isinstance(node.get("id"), str) else None


def definition_diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Nodes and edges added, removed and changed, and the top-level fields that changed.

    Both sides are normalised first, so a default written out is not a change. Nodes are
    matched by id, edges by `problems.edge_label` (their `id`, else source->target[:handle]).
    Lists and ids are in document order: `added` and `changed` as in `after`, `removed` as
    in `before`.
    """
    old, new = definition_normalize(before), definition_normalize(after)
    fields = _changes(
        {k: v for k, v in old.items() if k not in GRAPH_KEYS},
        {k: v for k, v in new.items() if k not in GRAPH_KEYS},
        "",
    )
    return {
        "nodes": _group(
            _keyed(old.get("nodes"), _node_id), _keyed(new.get("nodes"), _node_id), ignore="id"
        ),
        "edges": _group(
            _keyed(old.get("edges"), edge_label), _keyed(new.get("edges"), edge_label), ignore=None
        ),
        "fields": fields,
    }
