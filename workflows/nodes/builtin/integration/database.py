"""DatabaseQuery: SQL on a named connection, with bound parameters only."""

from __future__ import annotations

from typing import Any

from workflows.nodes.base import NodeCategory, NodeType
from workflows.nodes.fragments import (
    templated,
)
from workflows.templating import is_template


class DatabaseQuery(NodeType):
    name = "DatabaseQuery"
    category = NodeCategory.INTEGRATION
    description = (
        "Run one SQL statement on a named connection. Values are bound parameters only: "
        "templates in `sql` are refused, use `params`."
    )
    data_schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["sql"],
        "properties": {
            "connection": {
                "type": "string",
                "pattern": r"^[A-Za-z_][A-Za-z0-9_]*$",
                "default": "default",
                "description": "A configured database connection.",
            },
            "sql": {
                "type": "string",
                "minLength": 1,
                "description": "The statement, with %s (list params) or %(name)s placeholders.",
            },
            "params": templated({
                "type": ["array", "object"],
                "description": "Bound parameters: a list for %s, an object for %(name)s.",
            }),
            "mode": {
                "enum": ["read", "write"],
                "default": "read",
                "description": "read runs in a read-only transaction; write commits.",
            },
            "max_rows": {"type": "integer", "minimum": 1, "maximum": 100000, "default": 1000},
        },
    }
    output_schema = {
        "type": "object",
        "required": ["rows", "rowcount"],
        "properties": {
            "rows": {"type": "array", "items": {"type": "object"}},
            "rowcount": {"type": "integer"},
        },
    }

    @classmethod
    def validate_data(cls, data: dict[str, Any]) -> list[tuple[str, str]]:
        if is_template(data["sql"]):
            return [("sql", "Templates are not allowed in SQL; pass values in 'params'.")]
        return []
