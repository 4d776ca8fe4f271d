"""EmailNotification: mail through Django's email backend (SMTP in production)."""

from __future__ import annotations

from typing import Any

from workflows.nodes.base import NodeCategory, NodeType
from workflows.nodes.fragments import (
    email_address_problem,
    templated,
)

ADDRESS_LIST: dict[str, Any] = {"type": "array", "items": {"type": "string", "minLength": 1}}


class EmailNotification(NodeType):
    name = "EmailNotification"
    category = NodeCategory.INTEGRATION
    description = "Send an email through the configured email backend (SMTP in production)."
    data_schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["to", "subject"],
        "properties": {
            "to": templated({**ADDRESS_LIST, "minItems": 1, "description": "Recipients."}),
            "cc": templated(ADDRESS_LIST),
            "bcc": templated(ADDRESS_LIST),
            "subject": {"type": "string", "minLength": 1},
            "body": {"type": "string", "description": "Plain-text body."},
            "html": {"type": "string", "description": "HTML body, sent as an alternative."},
            "from": {"type": "string", "description": "Sender; default: DEFAULT_FROM_EMAIL."},
        },
    }
    output_schema = {
        "type": "object",
        "required": ["message_id", "recipients"],
        "properties": {
            "message_id": {"type": "string"},
            "recipients": {"type": "array", "items": {"type": "string"}},
        },
    }

    @classmethod
    def validate_data(cls, data: dict[str, Any]) -> list[tuple[str, str]]:
        problems = []
        for key in ("to", "cc", "bcc"):
            if isinstance(data.get(key), list):
                for index, address in enumerate(data[key]):
                    problem = email_address_problem(address)
                    if problem:
                        problems.append((f"{key}[{index}]", problem))
        if isinstance(data.get("from"), str) and (problem := email_address_problem(data["from"])):
            problems.append(("from", problem))
        return problems
