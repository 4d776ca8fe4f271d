"""Node types: the base class, the 18 built-in types and the registry."""

from __future__ import annotations

from workflows.nodes.base import NodeCategory, NodeType
from workflows.nodes.registry import (
    NodeTypeRegistrationError,
    NodeTypeRegistry,
    default_registry,
    registry_build,
    registry_reset,
)

__all__ = [
    "NodeCategory",
    "NodeType",
    "NodeTypeRegistrationError",
    "NodeTypeRegistry",
    "default_registry",
    "registry_build",
    "registry_reset",
]
