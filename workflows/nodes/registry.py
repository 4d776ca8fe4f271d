"""The registry of node types: the built-in ones plus custom types from settings and plugins.

Custom types come from the Django setting `WORKFLOW_NODE_TYPES` (dotted paths of classes)
and from installed packages' entry points in the group `weft.node_types`. A custom type
that cannot be imported or is invalid stops the registry from loading with an error that
names it: a workflow using a silently missing type would fail later and less clearly.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
from collections.abc import Iterable
from importlib.metadata import entry_points
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from workflows.nodes.base import NodeCategory, NodeType
from workflows.nodes.builtin import BUILTIN_NODE_TYPES

ENTRY_POINT_GROUP = "weft.node_types"
SETTING_NAME = "WORKFLOW_NODE_TYPES"


class NodeTypeRegistrationError(ValueError):
    """A node type that cannot be registered: a duplicate name or incomplete metadata."""


def _metadata_problems(node_type: Any) -> list[str]:
    if not (isinstance(node_type, type) and issubclass(node_type, NodeType)):
        return ["it is not a subclass of workflows.nodes.base.NodeType"]
    problems = []
    if not (isinstance(node_type.name, str) and node_type.name.isidentifier()):
        problems.append("`name` must be an identifier such as 'HttpRequest'")
    if node_type.category not in set(NodeCategory):
        problems.append(f"`category` must be one of {[str(c) for c in NodeCategory]}")
    if not node_type.description:
        problems.append("`description` is empty")
    for attribute in ("data_schema", "output_schema"):
        schema = getattr(node_type, attribute)
        if not isinstance(schema, dict) or not schema:
            problems.append(f"`{attribute}` must be a non-empty JSON Schema object")
            continue
        try:
            Draft202012Validator.check_schema(schema)
        except SchemaError as exc:
            problems.append(f"`{attribute}` is not a valid JSON Schema: {exc.message}")
    if isinstance(node_type.data_schema, dict) and node_type.data_schema.get("type") != "object":
        problems.append("`data_schema` must describe an object (type: object)")
    if not all(isinstance(handle, str) and handle for handle in node_type.handles):
        problems.append("`handles` must be non-empty strings")
    return problems


class NodeTypeRegistry:
    """Node types by name, in registration order."""

    def __init__(self, node_types: Iterable[type[NodeType]] = ()) -> None:
        self._types: dict[str, type[NodeType]] = {}
        self._fingerprint: str | None = None
        for node_type in node_types:
            self.register(node_type)

    def register(self, node_type: type[NodeType]) -> type[NodeType]:
        """Add a type; returns it, so the method also works as a class decorator."""
        problems = _metadata_problems(node_type)
        if problems:
            raise NodeTypeRegistrationError(
                f"Node type {node_type!r} cannot be registered: {'; '.join(problems)}."
            )
        existing = self._types.get(node_type.name)
        if existing is not None:
            raise NodeTypeRegistrationError(
                f"A node type named '{node_type.name}' is already registered "
                f"({existing.__module__}.{existing.__qualname__})."
            )
        self._types[node_type.name] = node_type
        self._fingerprint = None
        return node_type

    @property
    def fingerprint(self) -> str:
        """Names what the registry holds (each type's name and class), so that a cache of
        its metadata keyed by it is never read after the registry changed."""
        if self._fingerprint is None:
            described = "\n".join(f"{name}={cls.__module__}.{cls.__qualname__}@{id(cls)}"
                                  for name, cls in self._types.items())
            self._fingerprint = hashlib.sha256(described.encode()).hexdigest()[:16]
        return self._fingerprint

    def get(self, name: str) -> type[NodeType] | None:
        return self._types.get(name)

    def names(self) -> list[str]:
        return list(self._types)

    def all(self) -> list[type[NodeType]]:
        return list(self._types.values())

    def describe_all(self) -> list[dict[str, Any]]:
        return [node_type.describe() for node_type in self._types.values()]


def _import_class(dotted_path: str) -> Any:
    module_name, _, attribute = dotted_path.rpartition(".")
    try:
        return getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError, ValueError) as exc:
        raise NodeTypeRegistrationError(
            f"Cannot import node type '{dotted_path}' (from {SETTING_NAME}): {exc}"
        ) from exc


def _setting_paths() -> list[str]:
    """`WORKFLOW_NODE_TYPES` when Django is installed and configured, else nothing."""
    try:
        from django.conf import settings
    except ImportError:
        return []
    if not settings.configured:
        return []
    return list(getattr(settings, SETTING_NAME, []))


def _entry_point_types() -> list[Any]:
    loaded = []
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        try:
            loaded.append(entry_point.load())
        except Exception as exc:
            raise NodeTypeRegistrationError(
                f"Cannot load node type entry point '{entry_point.name}' "
                f"({entry_point.value}): {exc}"
            ) from exc
    return loaded


def registry_build(dotted_paths: Iterable[str] = ()) -> NodeTypeRegistry:
    """A registry of the built-in types, the classes at `dotted_paths` and the entry points."""
    registry = NodeTypeRegistry(BUILTIN_NODE_TYPES)
    for dotted_path in dotted_paths:
        registry.register(_import_class(dotted_path))
    for node_type in _entry_point_types():
        registry.register(node_type)
    return registry


@functools.cache
def default_registry() -> NodeTypeRegistry:
    """The process's registry: built-ins, `WORKFLOW_NODE_TYPES` and entry points (cached)."""
    return registry_build(_setting_paths())


def registry_reset() -> None:
    """Forget the cached registry, e.g. after a test changed the setting."""
    default_registry.cache_clear()
