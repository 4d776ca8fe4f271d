"""Problems found in a definition, and the report that collects them."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.conf import settings


class DefinitionErrorCode(StrEnum):
    """Machine-readable codes of definition problems."""

    SYNTAX_ERROR = "syntax_error"
    INVALID_DOCUMENT = "invalid_document"
    UNKNOWN_NODE_TYPE = "unknown_node_type"
    INVALID_NODE_DATA = "invalid_node_data"
    DUPLICATE_NODE_ID = "duplicate_node_id"
    DUPLICATE_EDGE = "duplicate_edge"
    EDGE_SOURCE_MISSING = "edge_source_missing"
    EDGE_TARGET_MISSING = "edge_target_missing"
    CYCLE = "cycle"
    UNKNOWN_HANDLE = "unknown_handle"
    TEMPLATE_SYNTAX = "template_syntax"
    EXPRESSION_SYNTAX = "expression_syntax"
    INVALID_INPUT_SCHEMA = "invalid_input_schema"
    UNKNOWN_NODE_REFERENCE = "unknown_node_reference"
    COMPENSATION_IN_FLOW = "compensation_in_flow"
    TOO_MANY_NODES = "too_many_nodes"
    SECRET_OUTSIDE_CREDENTIALS = "secret_outside_credentials"  # noqa: S105 - a code
    UNDECLARED_INPUT = "undeclared_input"
    SELF_REFERENCE = "self_reference"


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    """One problem, located by node id, edge label and/or a field path into the document."""

    code: str
    message: str
    node: str | None = None
    edge: str | None = None
    field: str | None = None
    severity: str = Severity.ERROR
    details: dict[str, Any] = dataclasses.field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The problem as JSON, without the locations it does not have."""
        result: dict[str, Any] = {
            "code": str(self.code),
            "message": self.message,
            "severity": str(self.severity),
        }
        for key in ("node", "edge", "field"):
            value = getattr(self, key)
            if value is not None:
                result[key] = value
        if self.details:
            result["details"] = self.details
        return result


@dataclass
class ValidationReport:
    """Every problem of a definition: errors make it invalid, warnings do not."""

    errors: list[Problem] = dataclasses.field(default_factory=list)
    warnings: list[Problem] = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def add(self, problem: Problem) -> None:
        if problem.severity == Severity.WARNING:
            self.warnings.append(problem)
        else:
            self.errors.append(problem)

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON. At most DEFINITION_MAX_PROBLEMS errors and as many warnings
        are listed (a document of 20,000 broken edges would otherwise answer megabytes);
        `omitted` counts the rest."""
        limit = settings.DEFINITION_MAX_PROBLEMS
        result: dict[str, Any] = {
            "valid": self.ok,
            "errors": [problem.as_dict() for problem in self.errors[:limit]],
            "warnings": [problem.as_dict() for problem in self.warnings[:limit]],
        }
        omitted = {"errors": max(len(self.errors) - limit, 0),
                   "warnings": max(len(self.warnings) - limit, 0)}
        if any(omitted.values()):
            result["omitted"] = omitted
        return result


def edge_label(edge: dict[str, Any]) -> str:
    """How problems and diffs name an edge: its `id`, else `source->target[:sourceHandle]`."""
    if isinstance(edge.get("id"), str) and edge["id"]:
        return edge["id"]
    label = f"{edge.get('source')}->{edge.get('target')}"
    handle = edge.get("sourceHandle")
    return f"{label}:{handle}" if handle is not None else label
