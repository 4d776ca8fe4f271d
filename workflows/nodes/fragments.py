"""JSON Schema pieces shared by node types' `data` schemas, built-in and custom."""

from __future__ import annotations

import datetime
import email.policy
from typing import Any

from django.conf import settings

from workflows.templating import is_template
from workflows.user_schemas import user_schema_problems

SINGLE_TEMPLATE: dict[str, Any] = {
    "type": "string",
    "pattern": r"^\s*\{\{[\s\S]*\}\}\s*$",
    "description": "One {{ expression }}; its value is used as it is (number, list, object).",
}

SECRET_NAME: dict[str, Any] = {
    "type": "string",
    "pattern": r"^[A-Za-z_][A-Za-z0-9_]*$",
    "description": "The name of a secret (letters, digits, '_'); read when the node runs.",
}

WORKFLOW_REFERENCE: dict[str, Any] = {
    "type": "string",
    "pattern": r"^(?:[a-z0-9][a-z0-9_.-]*/)?[a-z0-9][a-z0-9_.-]*$",
    "maxLength": 201,
    "description": "A workflow's name, in the same namespace, or 'namespace/name'.",
}

HANDLE_NAME: dict[str, Any] = {
    "type": "string",
    "pattern": r"^[A-Za-z0-9_.-]+$",
    "maxLength": 64,
}

DATETIME_OR_TEMPLATE: dict[str, Any] = {
    "type": "string",
    "minLength": 1,
    "description": "An ISO 8601 date-time with a UTC offset (2030-01-31T09:00:00Z), or a template.",
}

TIMEOUT_SECONDS: dict[str, Any] = {
    "type": "number", "exclusiveMinimum": 0, "maximum": settings.WORKFLOW_NODE_TIMEOUT_MAX,
}
WAIT_SECONDS: dict[str, Any] = {
    "type": "number", "exclusiveMinimum": 0, "maximum": settings.WORKFLOW_WAIT_MAX,
}
VERSION_NUMBER: dict[str, Any] = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}


def templated(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema`, or a single `{{ expression }}` computing the value when the node runs.

    Its `description` and `default` move to the outer schema, where a designer reads them.
    """
    outer = {key: schema[key] for key in ("description", "default") if key in schema}
    inner = {key: value for key, value in schema.items() if key not in outer}
    return {**outer, "anyOf": [inner, SINGLE_TEMPLATE]}


def aware_datetime_problem(value: str) -> str | None:
    """Why a literal date-time is unusable (a template is checked when it renders), or None."""
    if is_template(value):
        return None
    try:
        moment = datetime.datetime.fromisoformat(value)
    except ValueError:
        return f"'{value}' is not an ISO 8601 date-time, e.g. 2030-01-31T09:00:00Z"
    if moment.tzinfo is None:
        return f"'{value}' has no UTC offset; add one, e.g. 2030-01-31T09:00:00Z"
    return None


def email_address_problem(value: str) -> str | None:
    """Why a literal address ("a@example.com" or "Ann <a@example.com>") is unusable, or None.

    Exactly one address: `parseaddr` reads the first of "a@x, b@y" and the mail library
    would send to both, so the value is parsed as a whole address header instead."""
    if is_template(value):
        return None
    if any(ord(character) < 32 or ord(character) == 127 for character in value):
        return f"{value!r} holds a line break or control character"
    try:
        header = email.policy.default.header_factory("To", value)
        addresses = header.addresses
    except (IndexError, ValueError, TypeError):
        return f"'{value}' is not an email address"
    if len(addresses) > 1 or header.groups and header.groups[0].display_name is not None:
        return f"'{value}' holds several addresses; give one address per item"
    if header.defects or len(addresses) != 1 or not addresses[0].username \
            or not addresses[0].domain:
        return f"'{value}' is not an email address"
    return None


def json_schema_problems(schema: Any, field: str) -> list[tuple[str, str]]:
    """Where a user-supplied JSON Schema is unusable (`workflows.user_schemas`)."""
    return user_schema_problems(schema, field)
