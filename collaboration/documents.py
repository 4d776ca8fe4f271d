"""A workflow's draft as a CRDT document (Yjs's format, through pycrdt), and back.

The document has three root maps, the same in the browser (Yjs) and on the server:

- `meta`: every top-level field of the definition except its graph (name, namespace,
  description, settings, inputs, output, triggers, ...), one key per field;
- `nodes`: node id -> a map of the node's fields (`type`, `name`, `position`, `retry`,
  ...), whose `data` is itself a map, one key per field, and whose `$order` places the
  node in the definition's list;
- `edges`: an edge's label (its `id`, else `source->target[:handle]`) -> the edge.

A key is the unit of merging: two people changing different keys both keep their change,
two changing one key converge on one of the values (the same everywhere). Values are plain
JSON. This module is pure: no database, no socket.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from pycrdt import Doc, Map

from workflows.definitions.problems import Problem, edge_label

GRAPH_KEYS = ("nodes", "edges")
ORDER_KEY = "$order"
# Floats without a fraction come back as integers up to here (JSON has one number type;
# Yjs stores every number as a double).
EXACT_INTEGER = 2**53


@dataclass
class Conversion:
    """A document read as a definition, with what could not be read as JSON."""

    definition: dict[str, Any]
    problems: list[Problem] = field(default_factory=list)


def _same(before: Any, after: Any) -> bool:
    return json.dumps(before, sort_keys=True) == json.dumps(after, sort_keys=True)


# --- Definition -> document ----------------------------------------------------------------


def _node_fields(node: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in node.items() if key != "id"}


def _node_map(node: dict[str, Any], order: int) -> Map:
    fields = _node_fields(node)
    data = fields.pop("data", None)
    prelim: dict[str, Any] = {**fields, ORDER_KEY: order}
    if isinstance(data, dict):
        prelim["data"] = Map(data)
    elif data is not None:
        prelim["data"] = data
    return Map(prelim)


def _nodes_by_id(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = {}
    for node in definition.get("nodes") or []:
        if isinstance(node, dict) and isinstance(node.get("id"), str):
            result.setdefault(node["id"], node)
    return result


def _edges_by_label(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = {}
    for edge in definition.get("edges") or []:
        if isinstance(edge, dict):
            result.setdefault(edge_label(edge), edge)
    return result


def _map_sync(target: Map, before: dict[str, Any], after: dict[str, Any]) -> None:
    """Set in `target` the keys that changed from `before` to `after`, remove the removed."""
    for key in before:
        if key not in after and key in target:
            del target[key]
    for key, value in after.items():
        if key not in before or not _same(before[key], value):
            target[key] = value


def _node_sync(target: Map, before: dict[str, Any], after: dict[str, Any]) -> None:
    old, new = _node_fields(before), _node_fields(after)
    old_data, new_data = old.pop("data", None), new.pop("data", None)
    _map_sync(target, old, new)
    if _same(old_data, new_data):
        return
    current = target.get("data") if "data" in target else None
    if isinstance(new_data, dict) and isinstance(old_data, dict) and isinstance(current, Map):
        _map_sync(current, old_data, new_data)
    elif isinstance(new_data, dict):
        target["data"] = Map(new_data)
    elif new_data is None:
        if "data" in target:
            del target["data"]
    else:
        target["data"] = new_data


def document_apply(doc: Doc, before: dict[str, Any], after: dict[str, Any]) -> None:
    """Write into the document what changed from the definition `before` to `after`, key
    by key, and nothing else: what the document's editors changed meanwhile in other keys
    stays. Seeding a document is `document_apply(doc, {}, definition)`."""
    meta, nodes, edges = (doc.get(name, type=Map) for name in ("meta", "nodes", "edges"))
    with doc.transaction(origin="server"):
        _map_sync(meta, {k: v for k, v in before.items() if k not in GRAPH_KEYS},
                  {k: v for k, v in after.items() if k not in GRAPH_KEYS})
        old_nodes, new_nodes = _nodes_by_id(before), _nodes_by_id(after)
        for node_id in old_nodes.keys() - new_nodes.keys():
            if node_id in nodes:
                del nodes[node_id]
        next_order = _order_next(nodes)
        for index, (node_id, node) in enumerate(new_nodes.items()):
            current = nodes.get(node_id) if node_id in nodes else None
            if node_id not in old_nodes or not isinstance(current, Map):
                nodes[node_id] = _node_map(node, next_order + index)
            elif not _same(old_nodes[node_id], node):
                _node_sync(current, old_nodes[node_id], node)
        _map_sync(edges, _edges_by_label(before), _edges_by_label(after))


def _order_next(nodes: Map) -> int:
    orders = [_order(value) for value in nodes.values()]
    finite = [order for order in orders if math.isfinite(order)]
    return int(max(finite)) + 1 if finite else 0


def _order(value: Any) -> float:
    order = value.get(ORDER_KEY) if isinstance(value, Map) and ORDER_KEY in value else None
    return float(order) if isinstance(order, int | float) and not isinstance(order, bool) \
        else math.inf


# --- Document -> definition ----------------------------------------------------------------


class _Reader:
    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def plain(self, value: Any, where: dict[str, Any]) -> Any:
        """JSON of a document value: integral floats as integers, a non-finite number
        reported (and read as null)."""
        if isinstance(value, Map):
            value = value.to_py()
        if isinstance(value, bool) or value is None or isinstance(value, str | int):
            return value
        if isinstance(value, float):
            if not math.isfinite(value):
                self.problems.append(Problem(
                    code="value_not_finite", **where,
                    message=f"{_subject(where)}: {value} is not a JSON number."))
                return None
            return int(value) if value.is_integer() and abs(value) <= EXACT_INTEGER else value
        if isinstance(value, dict):
            return {str(key): self.plain(item, where) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self.plain(item, where) for item in value]
        self.problems.append(Problem(
            code="value_not_json", **where,
            message=f"{_subject(where)}: a {type(value).__name__} is not a JSON value."))
        return None

    def root(self, doc: Doc, name: str) -> dict[str, Any]:
        """A root map's entries (a root a client filled as another type reads as empty:
        Yjs keeps a root's items apart from the type they are read as)."""
        return dict(doc.get(name, type=Map).items())


def _subject(where: dict[str, Any]) -> str:
    if "node" in where:
        return f"Node '{where['node']}', field '{where['field']}'"
    if "edge" in where:
        return f"Edge '{where['edge']}'"
    return f"Field '{where['field']}'"


def document_definition(doc: Doc) -> Conversion:
    """The definition the document holds now: nodes in `$order` (then id) order, edges in
    label order."""
    reader = _Reader()
    definition: dict[str, Any] = {}
    for key, value in reader.root(doc, "meta").items():
        definition[key] = reader.plain(value, {"field": key})
    placed = []
    for node_id, value in reader.root(doc, "nodes").items():
        order = _order(value)
        fields = value.to_py() if isinstance(value, Map) else value
        if not isinstance(fields, dict):
            reader.problems.append(Problem(
                code="document_malformed", node=node_id,
                message=f"Node '{node_id}' is not a map of fields."))
            continue
        node = {"id": node_id}
        for key, item in fields.items():
            if key != ORDER_KEY:
                node[key] = reader.plain(item, {"node": node_id, "field": key})
        placed.append((order, node_id, node))
    definition["nodes"] = [node for _, _, node in sorted(placed, key=lambda item: item[:2])]
    edges = reader.root(doc, "edges")
    definition["edges"] = [reader.plain(edges[label], {"edge": label})
                           for label in sorted(edges)]
    return Conversion(definition=definition, problems=reader.problems)
