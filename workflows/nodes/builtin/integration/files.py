"""FileOperation: read, write, append, delete, list and test files under one root."""

from __future__ import annotations

from typing import Any

from workflows.nodes.base import NodeCategory, NodeType
from workflows.templating import is_template


class FileOperation(NodeType):
    name = "FileOperation"
    category = NodeCategory.INTEGRATION
    description = (
        "Read, write, append, delete, list or test files under the configured file root; "
        "a path can never leave that root."
    )
    data_schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["action", "path"],
        "properties": {
            "action": {"enum": ["read", "write", "append", "delete", "list", "exists"]},
            "path": {
                "type": "string",
                "minLength": 1,
                "description": "Relative to the file root; list takes a directory or a glob.",
            },
            "content": {"type": "string", "description": "Text written by write and append."},
            "encoding": {"type": "string", "default": "utf-8"},
        },
        "if": {"required": ["action"], "properties": {"action": {"enum": ["write", "append"]}}},
        "then": {"required": ["content"]},
    }
    output_schema = {
        "type": "object",
        "description": "read: content; list: paths; exists: exists; write, append: bytes.",
        "properties": {
            "path": {"type": "string"},
            "content": {"type": "string"},
            "paths": {"type": "array", "items": {"type": "string"}},
            "exists": {"type": "boolean"},
            "bytes": {"type": "integer"},
        },
    }

    @classmethod
    def validate_data(cls, data: dict[str, Any]) -> list[tuple[str, str]]:
        path = data["path"]
        if is_template(path):
            return []
        if path.startswith(("/", "\\")) or ".." in path.replace("\\", "/").split("/"):
            return [("path", f"'{path}' must stay under the file root: no leading '/', no '..'.")]
        return []
