"""JSON Schema (Draft 2020-12) of a workflow definition's shape.

It checks the document around the nodes' `data`; each node type's own schema checks that.
Keys starting with "x-" are allowed at the top level, on nodes and on edges, for designers'
extensions (React Flow's `width`, `selected`... are not part of a stored definition).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from workflows.nodes.fragments import TIMEOUT_SECONDS, WORKFLOW_REFERENCE

NAME_PATTERN = r"^[a-z0-9][a-z0-9_.-]*$"
NODE_ID_PATTERN = r"^[a-z][a-z0-9_]*$"
NAME = {
    "type": "string",
    "pattern": NAME_PATTERN,
    "minLength": 1,
    "maxLength": 100,
    "description": "Lowercase letters, digits, '_', '.' and '-', starting with a letter or digit.",
}
NULLABLE_STRING = {"type": ["string", "null"]}
COORDINATE = {"type": "number", "minimum": -1e7, "maximum": 1e7}

SETTINGS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "timeout": {"type": "integer", "minimum": 1,
                    "maximum": settings.WORKFLOW_EXECUTION_TIMEOUT_MAX, "default": 1800},
        "max_retries": {"type": "integer", "minimum": 0,
                        "maximum": settings.WORKFLOW_MAX_ATTEMPTS - 1, "default": 3},
        "priority": {"enum": ["low", "normal", "high", "critical"], "default": "normal"},
        "concurrency": {"type": "integer", "minimum": 0,
                        "maximum": settings.WORKFLOW_CONCURRENCY_MAX, "default": 0},
        "overlap": {"enum": ["queue", "skip", "allow"], "default": "queue"},
        "on_failure": {"enum": ["fail", "continue", "suspend"], "default": "fail"},
        "dependencies": {
            "type": "array",
            "default": [],
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["workflow"],
                "properties": {
                    "workflow": WORKFLOW_REFERENCE,
                    "condition": {
                        "enum": ["completed", "failed", "finished"],
                        "default": "completed",
                    },
                },
            },
        },
        "enabled": {"type": "boolean"},
        "properties": {"type": "object"},
        "allowed_roles": {"type": "array", "items": {"type": "string"}},
    },
}

RETRY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "max_attempts": {"type": "integer", "minimum": 1,
                         "maximum": settings.WORKFLOW_MAX_ATTEMPTS},
        "backoff": {"type": "number", "minimum": 1, "maximum": 10},
        "initial_delay": {"type": "number", "minimum": 0,
                          "maximum": settings.WORKFLOW_RETRY_DELAY_MAX},
        "max_delay": {"type": "number", "minimum": 0,
                      "maximum": settings.WORKFLOW_RETRY_DELAY_MAX},
        "jitter": {"type": "boolean"},
    },
}

EXTENSIONS = {"^x-": {}}

NODE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "patternProperties": EXTENSIONS,
    "required": ["id", "type"],
    "properties": {
        "id": {
            "type": "string",
            "pattern": NODE_ID_PATTERN,
            "maxLength": 64,
            "description": "Lowercase letters, digits and '_', starting with a letter.",
        },
        "type": {"type": "string", "minLength": 1},
        "name": {"type": "string"},
        "description": {"type": "string"},
        "data": {"type": "object"},
        "retry": RETRY_SCHEMA,
        "timeout": TIMEOUT_SECONDS,
        "position": {
            "type": "object",
            "required": ["x", "y"],
            "properties": {"x": COORDINATE, "y": COORDINATE},
        },
        "on_failure": {"enum": ["fail", "continue", "suspend"]},
        "compensation": {"type": "string", "description": "Id of the node that undoes this one."},
    },
}

EDGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "patternProperties": EXTENSIONS,
    "required": ["source", "target"],
    "properties": {
        "id": {"type": "string", "minLength": 1},
        "source": {"type": "string"},
        "target": {"type": "string"},
        "sourceHandle": NULLABLE_STRING,
        "targetHandle": NULLABLE_STRING,
    },
}

GRAPH_PROPERTIES: dict[str, Any] = {
    "nodes": {"type": "array", "items": NODE_SCHEMA},
    "edges": {"type": "array", "items": EDGE_SCHEMA},
}

DEFINITION_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Weft workflow definition",
    "type": "object",
    "additionalProperties": False,
    "patternProperties": EXTENSIONS,
    "required": ["name", "nodes"],
    "properties": {
        "name": NAME,
        "namespace": {**NAME, "default": "default"},
        "description": {"type": "string", "default": ""},
        "settings": SETTINGS_SCHEMA,
        "inputs": {"type": "object", "description": "JSON Schema of the execution input."},
        "output": {"type": "string", "description": "Template of the execution's output."},
        "triggers": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["event"],
                "properties": {"event": {"type": "string", "minLength": 1}},
            },
        },
        **GRAPH_PROPERTIES,
    },
}

GRAPH_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": GRAPH_PROPERTIES,
}
"""The shape of an inline Loop body: nodes and edges as at the top level."""
