"""HttpRequest: an HTTP call with a circuit breaker per host and an Idempotency-Key."""

from __future__ import annotations

from typing import Any

from workflows.nodes.base import NodeCategory, NodeType
from workflows.nodes.fragments import (
    SECRET_NAME,
    TIMEOUT_SECONDS,
)

HTTP_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
STATUS_CODE = {"type": "integer", "minimum": 100, "maximum": 599}
QUERY_SCALAR = {"type": ["string", "number", "boolean"]}


class HttpRequest(NodeType):
    name = "HttpRequest"
    category = NodeCategory.INTEGRATION
    description = (
        "Call an HTTP endpoint. Unsafe methods carry a stable Idempotency-Key so a redelivered "
        "attempt is not applied twice; a circuit breaker per host stops hammering a failing one."
    )
    data_schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["url"],
        "properties": {
            "url": {
                "type": "string",
                "pattern": r"^(?:https?://|\s*\{[{%])",
                "description": "Absolute http(s) URL; may hold templates.",
            },
            "method": {"enum": HTTP_METHODS, "default": "GET"},
            "headers": {
                "type": "object",
                "propertyNames": {"pattern": r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$"},
                "additionalProperties": {"type": "string"},
                "description": "Request headers; values may hold templates.",
            },
            "query": {
                "type": "object",
                "additionalProperties": {
                    "anyOf": [QUERY_SCALAR, {"type": "array", "items": QUERY_SCALAR}]
                },
                "description": "Query parameters added to the URL; a list repeats the parameter.",
            },
            "json": {"description": "A JSON body (any value; strings may hold templates)."},
            "body": {"type": "string", "description": "A raw text body; excludes `json`."},
            "auth": {
                "type": "object",
                "additionalProperties": False,
                "required": ["secret"],
                "properties": {
                    "secret": {
                        **SECRET_NAME,
                        "description": "Name of the secret holding the credential: "
                        "'user:password' for basic, the token for bearer, the header's value "
                        "for header.",
                    },
                    "type": {"enum": ["basic", "bearer", "header"], "default": "bearer"},
                    "header": {
                        "type": "string",
                        "default": "Authorization",
                        "description": "The header the secret is sent in, for type 'header'.",
                    },
                },
            },
            "expected_status": {
                "anyOf": [STATUS_CODE, {"type": "array", "items": STATUS_CODE, "minItems": 1}],
                "description": "Status codes that count as success; default: any 2xx.",
            },
            "timeout": {**TIMEOUT_SECONDS, "default": 30, "description": "Seconds per request."},
            "follow_redirects": {"type": "boolean", "default": True},
        },
    }
    output_schema = {
        "type": "object",
        "required": ["status", "headers", "body"],
        "properties": {
            "status": STATUS_CODE,
            "headers": {"type": "object", "additionalProperties": {"type": "string"}},
            "body": {"description": "The parsed JSON body, or the text of any other body."},
        },
    }

    @classmethod
    def validate_data(cls, data: dict[str, Any]) -> list[tuple[str, str]]:
        if "json" in data and "body" in data:
            return [("body", "Set either 'json' or 'body', not both.")]
        return []
