"""Validation of definitions and single nodes: every problem at once, each located.

A problem names the node (its id; `loop/child` inside a Loop's inline body), the edge
(`problems.edge_label`) and the field path it concerns. Checks go on past a problem
wherever the rest of the document is still usable, so one pass lists everything.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator

from config.parsers import field_path
from workflows.definitions.graph import cycles
from workflows.definitions.problems import DefinitionErrorCode as Code
from workflows.definitions.problems import Problem, Severity, ValidationReport, edge_label
from workflows.definitions.recursion import self_references
from workflows.definitions.schema import DEFINITION_SCHEMA, GRAPH_SCHEMA
from workflows.definitions.schema_errors import SchemaFinding, schema_findings
from workflows.nodes.base import NodeType
from workflows.nodes.fragments import json_schema_problems
from workflows.nodes.registry import NodeTypeRegistry, default_registry
from workflows.templating import (
    expression_parse_error,
    is_template,
    template_names,
    template_parse_error,
)
from workflows.user_schemas import SchemaValidator

MAX_NODES = 500
_DEFINITION_VALIDATOR = SchemaValidator(DEFINITION_SCHEMA)
_GRAPH_VALIDATOR = SchemaValidator(GRAPH_SCHEMA)


@dataclass(frozen=True)
class _Scope:
    """Where a graph sits: the top level, or the inline body of a Loop (at any depth)."""

    field_prefix: str = ""
    node_prefix: str = ""

    def field(self, *parts: str | int) -> str:
        return field_path(parts, self.field_prefix)


@dataclass(frozen=True)
class _NodeAt:
    """A node's label (None without a usable id) and its path in the document."""

    label: str | None
    path: str

    @property
    def subject(self) -> str:
        return f"Node '{self.label}'" if self.label else (self.path or "The node")

    def field(self, *parts: str | int) -> str:
        return field_path(parts, self.path)


@dataclass
class _NodeInfo:
    node_type: type[NodeType] | None
    data: Any
    data_valid: bool


def _expression_values(data: Any, pattern: str) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    """The values at an expression path such as "cases[*].expression", with their paths."""
    found: list[tuple[tuple[str | int, ...], Any]] = [((), data)]
    for step in pattern.split("."):
        key, every = (step[:-3], True) if step.endswith("[*]") else (step, False)
        found = [
            ((*path, key), value[key])
            for path, value in found
            if isinstance(value, dict) and key in value
        ]
        if every:
            found = [
                ((*path, index), item)
                for path, value in found
                if isinstance(value, list)
                for index, item in enumerate(value)
            ]
    yield from found


def _strings(value: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, (*path, index))


class _Checker:
    """One validation pass; `report` collects what it finds."""

    def __init__(self, registry: NodeTypeRegistry) -> None:
        self.registry = registry
        self.report = ValidationReport()
        self._validators: dict[str, Draft202012Validator] = {}
        # `input.<name>` reads of the top-level graph: (name, node label, where, field)
        self.input_reads: list[tuple[str, str | None, str, str]] = []

    def add(self, code: Code, message: str, **location: Any) -> None:
        self.report.add(Problem(code=code, message=message, **location))

    def _data_validator(self, node_type: type[NodeType]) -> Draft202012Validator:
        if node_type.name not in self._validators:
            self._validators[node_type.name] = SchemaValidator(node_type.data_schema)
        return self._validators[node_type.name]

    def check_definition(self, definition: dict[str, Any]) -> None:
        nodes = definition.get("nodes")
        edges = definition.get("edges")
        self._shape(_DEFINITION_VALIDATOR, definition, _Scope(), nodes, edges)
        inputs = definition.get("inputs")
        if isinstance(inputs, dict):
            for field, message in json_schema_problems(inputs, "inputs"):
                self.add(
                    Code.INVALID_INPUT_SCHEMA,
                    f"{field} is not a valid JSON Schema: {message}",
                    field=field,
                )
        output = definition.get("output")
        if isinstance(output, str) and is_template(output):
            error = template_parse_error(output)
            if error:
                self.add(
                    Code.TEMPLATE_SYNTAX, f"The output template does not parse: {error}",
                    field="output",
                )
        if isinstance(output, str) and is_template(output):
            for root, name in template_names(output):
                if root == "input":
                    self.input_reads.append((name, None, "output", "output"))
                elif root == "secrets":
                    self.add(
                        Code.SECRET_OUTSIDE_CREDENTIALS,
                        f"The output template reads secrets.{name}; an execution's output "
                        "may not hold a secret.", field="output", details={"secret": name},
                    )
        self._graph(nodes, edges, _Scope())
        self._undeclared_inputs(inputs)
        for label, field, name in self_references(definition):
            self.add(Code.SELF_REFERENCE,
                     f"Node '{label}' starts '{name}', the workflow it belongs to: it would "
                     "start itself without end.", node=label, field=field)
        if isinstance(nodes, list) and len(nodes) > MAX_NODES:
            self.add(
                Code.TOO_MANY_NODES,
                f"The workflow has {len(nodes)} nodes; over {MAX_NODES} makes it slow to "
                "load, validate and run. Consider splitting it with Subworkflow nodes.",
                severity=Severity.WARNING,
                field="nodes",
                details={"count": len(nodes), "limit": MAX_NODES},
            )

    def _undeclared_inputs(self, inputs: Any) -> None:
        """Warn about `input.<name>` reads the inputs schema does not declare: such a name
        is undefined unless the caller sends it (a typo, or an input to declare)."""
        if not isinstance(inputs, dict) or not isinstance(inputs.get("properties"), dict):
            return
        declared = inputs["properties"]
        for name, node, relative, field in self.input_reads:
            if name in declared:
                continue
            where = f"Node '{node}'" if node else "The workflow"
            self.add(
                Code.UNDECLARED_INPUT,
                f"{where}: {relative} reads input.{name}, which the inputs schema does not "
                f"declare; it is undefined unless sent. Declare it under inputs.properties, "
                f"or test it with 'input.{name} is defined' or 'input.{name} | default(...)'.",
                severity=Severity.WARNING, node=node, field=field,
                details={"input": name},
            )

    def _shape(
        self, validator: Draft202012Validator, instance: dict[str, Any], scope: _Scope,
        nodes: Any, edges: Any,
    ) -> None:
        """Schema violations of the document (or a Loop body) around the nodes' `data`."""
        for finding in schema_findings(validator, instance):
            self._shape_problem(finding, scope, nodes, edges)

    def _shape_problem(self, finding: SchemaFinding, scope: _Scope, nodes: Any, edges: Any) -> None:
        path = finding.path
        field = scope.field(*path)
        node = edge = None
        subject, rest = None, path
        if len(path) >= 2 and isinstance(path[1], int):
            if path[0] == "nodes" and isinstance(nodes[path[1]], dict):
                node_id = nodes[path[1]].get("id")
                at = _NodeAt(
                    scope.node_prefix + node_id if isinstance(node_id, str) else None,
                    scope.field("nodes", path[1]),
                )
                node, subject, rest = at.label, at.subject, path[2:]
            elif path[0] == "edges" and isinstance(edges[path[1]], dict):
                edge = scope.node_prefix + edge_label(edges[path[1]])
                subject, rest = f"Edge '{edge}'", path[2:]
        if subject is None:
            where = field or "The definition"
        else:
            where = f"{subject}: {field_path(rest) or 'it'}"
        self.add(
            Code.INVALID_DOCUMENT, f"{where} {finding.message}", node=node, edge=edge, field=field
        )

    def _graph(self, nodes: Any, edges: Any, scope: _Scope) -> None:
        """Nodes, edges, references and cycles of one graph."""
        infos: dict[str, _NodeInfo] = {}
        order: list[str] = []
        compensations: list[tuple[_NodeAt, str]] = []
        for index, node in enumerate(nodes if isinstance(nodes, list) else []):
            if not isinstance(node, dict):
                continue
            node_id = node.get("id")
            at = _NodeAt(
                scope.node_prefix + node_id if isinstance(node_id, str) else None,
                scope.field("nodes", index),
            )
            info = self.check_node(node, at)
            if isinstance(node_id, str):
                if node_id in infos:
                    self.add(
                        Code.DUPLICATE_NODE_ID,
                        f"{at.subject}: the id is used by another node; ids must be unique.",
                        node=at.label, field=at.field("id"),
                    )
                else:
                    infos[node_id] = info
                    order.append(node_id)
            if isinstance(node.get("compensation"), str):
                compensations.append((at, node["compensation"]))
        for at, target in compensations:
            if target not in infos:
                self.add(
                    Code.UNKNOWN_NODE_REFERENCE,
                    f"{at.subject}: compensation '{target}' is not a node of this graph.",
                    node=at.label, field=at.field("compensation"),
                    details={"reference": target},
                )
        successors = self._edges(edges if isinstance(edges, list) else [], infos, scope)
        linked = {edge.get(end) for edge in (edges if isinstance(edges, list) else [])
                  if isinstance(edge, dict) for end in ("source", "target")
                  if isinstance(edge.get(end), str)}
        for at, target in compensations:
            if target in infos and target in linked:
                self.add(
                    Code.COMPENSATION_IN_FLOW,
                    f"{at.subject}: compensation '{target}' has edges; a compensating node runs "
                    "only when the execution fails, so it may not be connected.",
                    node=at.label, field=at.field("compensation"),
                    details={"reference": target},
                )
        for cycle in cycles(order, successors):
            labels = [scope.node_prefix + node_id for node_id in cycle]
            message = (
                f"Node '{labels[0]}' has an edge to itself"
                if len(cycle) == 2
                else f"Nodes {' -> '.join(labels)} form a cycle"
            )
            self.add(
                Code.CYCLE, f"{message}; a workflow is acyclic, repeat work with a Loop node.",
                node=labels[0], details={"cycle": labels},
            )

    def _edges(
        self, edges: list[Any], infos: dict[str, _NodeInfo], scope: _Scope
    ) -> dict[str, list[str]]:
        """Check every edge; returns the successors of each node along the usable edges."""
        successors: dict[str, list[str]] = {}
        seen: dict[tuple[str, str, str | None], int] = {}
        seen_ids: dict[str, int] = {}
        for index, edge in enumerate(edges):
            if not isinstance(edge, dict):
                continue
            label = scope.node_prefix + edge_label(edge)
            source, target = edge.get("source"), edge.get("target")
            handle = edge.get("sourceHandle")
            for end, value, code in (
                ("source", source, Code.EDGE_SOURCE_MISSING),
                ("target", target, Code.EDGE_TARGET_MISSING),
            ):
                if isinstance(value, str) and value not in infos:
                    self.add(
                        code, f"Edge '{label}': {end} '{value}' is not a node of this graph.",
                        edge=label, field=scope.field("edges", index, end),
                        details={end: value},
                    )
            edge_id = edge.get("id")
            if isinstance(edge_id, str):
                if edge_id in seen_ids:
                    self.add(
                        Code.DUPLICATE_EDGE,
                        f"Edge id '{edge_id}' is also used by edges[{seen_ids[edge_id]}].",
                        edge=label, field=scope.field("edges", index, "id"),
                        details={"first": seen_ids[edge_id]},
                    )
                seen_ids.setdefault(edge_id, index)
            if not (isinstance(source, str) and isinstance(target, str)):
                continue  # the shape check reported it
            key = (source, target, handle if isinstance(handle, str) else None)
            if key in seen:
                self.add(
                    Code.DUPLICATE_EDGE,
                    f"Edge '{label}' repeats edges[{seen[key]}] (same source, target and handle).",
                    edge=label, field=scope.field("edges", index), details={"first": seen[key]},
                )
            seen.setdefault(key, index)
            if source in infos and isinstance(handle, str):
                self._handle(label, source, handle, infos[source], scope.field("edges", index))
            if source in infos and target in infos and target not in successors.get(source, []):
                successors.setdefault(source, []).append(target)
        return successors

    def _handle(self, label: str, source: str, handle: str, info: _NodeInfo, field: str) -> None:
        if info.node_type is None or not info.data_valid:
            return  # the source's own problems are reported; its handles are unknown
        offered = info.node_type.branch_handles(info.data)
        if handle in offered:
            return
        if offered:
            reason = f"offers {', '.join(repr(h) for h in offered)}"
        else:
            reason = "does not branch; leave sourceHandle out"
        self.add(
            Code.UNKNOWN_HANDLE,
            f"Edge '{label}': node '{source}' ({info.node_type.name}) has no handle "
            f"'{handle}'; it {reason}.",
            edge=label, field=f"{field}.sourceHandle",
            details={"handle": handle, "handles": offered},
        )

    def check_node(self, node: dict[str, Any], at: _NodeAt) -> _NodeInfo:
        """A node's type, `data`, templates, expressions and inline graphs."""
        type_name = node.get("type")
        if not isinstance(type_name, str):
            return _NodeInfo(None, None, False)
        node_type = self.registry.get(type_name)
        if node_type is None:
            self.add(
                Code.UNKNOWN_NODE_TYPE,
                f"{at.subject}: there is no node type '{type_name}'.",
                node=at.label, field=at.field("type"),
                details={"type": type_name, "known": self.registry.names()},
            )
            return _NodeInfo(None, None, False)
        data = node.get("data", {})
        if not isinstance(data, dict):
            return _NodeInfo(node_type, data, False)
        findings = schema_findings(self._data_validator(node_type), data)
        for finding in findings:
            self.add(
                Code.INVALID_NODE_DATA,
                f"{at.subject}: {field_path(finding.path, 'data')} {finding.message}",
                node=at.label, field=at.field("data", *finding.path),
            )
        if not findings:
            for path, message in node_type.validate_data(data):
                relative = f"data.{path}" if path else "data"
                self.add(
                    Code.INVALID_NODE_DATA, f"{at.subject}: {relative}: {message}",
                    node=at.label, field=f"{at.path}.{relative}" if at.path else relative,
                )
        self._templates(node_type, data, at)
        if not findings:
            for name in node_type.graph_fields:
                graph = data.get(name)
                if isinstance(graph, dict) and "nodes" in graph:
                    self._inline_graph(graph, at, name)
        return _NodeInfo(node_type, data, not findings)

    def _templates(self, node_type: type[NodeType], data: dict[str, Any], at: _NodeAt) -> None:
        expressions = {
            path: value
            for pattern in node_type.expression_fields
            for path, value in _expression_values(data, pattern)
        }
        for path, value in expressions.items():
            error = expression_parse_error(value) if isinstance(value, str) else None
            if error:
                relative = field_path(path, "data")
                self.add(
                    Code.EXPRESSION_SYNTAX,
                    f"{at.subject}: the expression in {relative} does not parse: {error}",
                    node=at.label, field=at.field("data", *path), details={"error": error},
                )
            elif isinstance(value, str):
                self._names(node_type, path, value, at)
        for path, text in _strings(data):
            if path in expressions or path[0] in node_type.graph_fields or not is_template(text):
                continue
            error = template_parse_error(text)
            if error:
                relative = field_path(path, "data")
                self.add(
                    Code.TEMPLATE_SYNTAX,
                    f"{at.subject}: the template in {relative} does not parse: {error}",
                    node=at.label, field=at.field("data", *path), details={"error": error},
                )
            else:
                self._names(node_type, path, text, at)

    def _names(self, node_type: type[NodeType], path: tuple, text: str, at: _NodeAt) -> None:
        """What a template reads: a secret outside the fields that carry credentials is an
        error; `input.<name>` reads of the top-level graph are kept for `_undeclared_inputs`."""
        relative = field_path(path, "data")
        for root, name in template_names(text):
            if root == "secrets" and path[0] not in node_type.secret_fields:
                allowed = ", ".join(f"data.{key}" for key in node_type.secret_fields)
                self.add(
                    Code.SECRET_OUTSIDE_CREDENTIALS,
                    f"{at.subject}: {relative} reads secrets.{name}; a secret may only be "
                    f"placed in a field that carries credentials "
                    f"({allowed or f'{node_type.name} has none; name the secret in its data'}).",
                    node=at.label, field=at.field("data", *path),
                    details={"secret": name, "secret_fields": list(node_type.secret_fields)},
                )
            elif root == "input" and "/" not in (at.label or ""):
                self.input_reads.append((name, at.label, relative, at.field("data", *path)))

    def _inline_graph(self, graph: dict[str, Any], at: _NodeAt, name: str) -> None:
        scope = _Scope(field_prefix=at.field("data", name), node_prefix=f"{at.label or '?'}/")
        nodes, edges = graph.get("nodes"), graph.get("edges")
        self._shape(_GRAPH_VALIDATOR, graph, scope, nodes, edges)
        self._graph(nodes, edges, scope)


def definition_validate(
    definition: dict[str, Any], *, registry: NodeTypeRegistry | None = None
) -> ValidationReport:
    """Every problem of a definition; `report.ok` when it has no error (warnings allowed)."""
    checker = _Checker(registry if registry is not None else default_registry())
    if not isinstance(definition, dict):
        checker.add(Code.INVALID_DOCUMENT, "A definition must be an object.")
    else:
        checker.check_definition(definition)
    return checker.report


def node_validate(
    node: dict[str, Any], *, registry: NodeTypeRegistry | None = None
) -> ValidationReport:
    """Problems of one node `{id?, type, data}` on its own: type, data, templates, expressions.

    Fields are relative to the node ("data.url"); edges and ids are not checked.
    """
    checker = _Checker(registry if registry is not None else default_registry())
    node_id = node.get("id")
    at = _NodeAt(node_id if isinstance(node_id, str) and node_id else None, "")
    if not isinstance(node.get("type"), str):
        checker.add(Code.INVALID_DOCUMENT, "A node needs a type.", node=at.label, field="type")
    elif not isinstance(node.get("data", {}), dict):
        checker.add(
            Code.INVALID_NODE_DATA, f"{at.subject}: data must be an object.",
            node=at.label, field="data",
        )
    checker.check_node(node, at)
    return checker.report
