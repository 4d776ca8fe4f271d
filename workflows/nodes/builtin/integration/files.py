"""FileOperation: read, write, append, delete, list and test files under one root."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.conf import settings

from workflows.nodes.base import NodeCategory, NodeType
from workflows.nodes.context import NodeContext
from workflows.nodes.faults import TransientFault, ValidationFault
from workflows.templating import is_template

GLOB_CHARACTERS = frozenset("*?[")


def file_root() -> Path:
    """`WORKFLOW_FILE_ROOT`, created when missing, with its symlinks resolved."""
    root = Path(settings.WORKFLOW_FILE_ROOT)
    root.mkdir(parents=True, exist_ok=True)
    return root.resolve()


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def path_under_root(context: NodeContext, value: Any, field: str) -> Path:
    """The file `value` names under the file root; a ValidationFault if it could leave it.

    The path is checked as written (no absolute path, no escape by `..`) and once its
    symlinks are resolved, so a link pointing outside the root is refused too. The result
    keeps a final symlink unresolved, so that deleting a link removes the link.
    """
    where = f"Node '{context.node_id}' data.{field}"
    if not isinstance(value, str) or not value.strip():
        raise ValidationFault(f"{where} must be a non-empty path, not {value!r}.")
    if "\x00" in value:
        raise ValidationFault(f"{where} contains a NUL character.")
    root = file_root()
    relative = value.replace("\\", "/")
    if relative.startswith("/") or Path(relative).is_absolute():
        raise ValidationFault(f"{where} '{value}' must be relative to the file root.")
    lexical = Path(os.path.normpath(root / relative))
    if not _inside(lexical, root) or not _inside(lexical.resolve(), root):
        raise ValidationFault(f"{where} '{value}' leaves the file root.")
    return lexical


def relative_to_root(path: Path) -> str:
    """A path under the root as the outputs show it: relative, with '/' separators."""
    relative = path.relative_to(file_root()).as_posix()
    return relative if relative != "." else ""


class FileOperation(NodeType):
    name = "FileOperation"
    reads_outputs = False
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
                "description": "Relative to the file root (may hold templates; the rendered "
                "path may not leave the root either, also not through a symlink). list "
                "takes a directory (its entries) or a glob ('reports/*.csv', '**/*.txt').",
            },
            "content": {
                "type": "string",
                "description": "Text written by write (replaces the file) and append; missing "
                "directories are created.",
            },
            "encoding": {
                "type": "string",
                "default": "utf-8",
                "description": "Text encoding of read, write and append.",
            },
        },
        "if": {"required": ["action"], "properties": {"action": {"enum": ["write", "append"]}}},
        "then": {"required": ["content"]},
    }
    output_schema = {
        "type": "object",
        "description": "Always path (relative to the root). read: content; write, append: "
        "bytes (written by this node); delete: deleted; list: paths (relative to the root, "
        "sorted; a directory's entries, or a glob's matches); exists: exists.",
        "required": ["path"],
        "properties": {
            "path": {"type": "string"},
            "content": {"type": "string"},
            "bytes": {"type": "integer", "minimum": 0},
            "deleted": {"type": "boolean"},
            "paths": {"type": "array", "items": {"type": "string"}},
            "exists": {"type": "boolean"},
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

    def execute(self, context: NodeContext) -> Any:
        action = context.data["action"]
        if action == "list":
            return self._list(context)
        path = path_under_root(context, context.data["path"], "path")
        shown = relative_to_root(path)
        try:
            if action == "exists":
                return {"path": shown, "exists": path.exists()}
            if action == "read":
                return {"path": shown, "content": self._read(context, path)}
            if action == "write":
                return {"path": shown, "bytes": self._write(path, self._encoded(context))}
            # append and delete are not idempotent: a redelivered attempt must not repeat them
            request = {"action": action, "path": shown}
            if action == "append":
                content = self._encoded(context)
                return context.external_call(
                    request, lambda key: {"path": shown, "bytes": self._append(path, content)})
            return context.external_call(request, lambda key: self._delete(context, path, shown))
        except FileNotFoundError:
            raise ValidationFault(
                f"Node '{context.node_id}' data.path: '{shown}' does not exist.") from None
        except (IsADirectoryError, NotADirectoryError, PermissionError) as exc:
            raise ValidationFault(
                f"Node '{context.node_id}' data.path: cannot {action} '{shown}': "
                f"{exc.strerror}.") from None
        except OSError as exc:
            raise TransientFault(
                f"Node '{context.node_id}' data.path: {action} of '{shown}' failed: "
                f"{exc.strerror or exc}.") from None

    def _encoding(self, context: NodeContext) -> str:
        encoding = context.data.get("encoding", "utf-8")
        try:
            "".encode(encoding)
        except (LookupError, TypeError):
            raise ValidationFault(
                f"Node '{context.node_id}' data.encoding: unknown encoding {encoding!r}.") from None
        return encoding

    def _encoded(self, context: NodeContext) -> bytes:
        content = context.data["content"]
        if not isinstance(content, str):
            raise ValidationFault(f"Node '{context.node_id}' data.content must be text.")
        encoding = self._encoding(context)
        try:
            return content.encode(encoding)
        except UnicodeEncodeError as exc:
            raise ValidationFault(
                f"Node '{context.node_id}' data.content cannot be encoded as {encoding}: "
                f"{exc.reason}.") from None

    def _read(self, context: NodeContext, path: Path) -> str:
        encoding = self._encoding(context)
        try:
            return path.read_bytes().decode(encoding)
        except UnicodeDecodeError as exc:
            raise ValidationFault(
                f"Node '{context.node_id}' data.path: '{relative_to_root(path)}' is not "
                f"{encoding} text ({exc.reason} at byte {exc.start}).") from None

    @staticmethod
    def _write(path: Path, content: bytes) -> int:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        return len(content)

    @staticmethod
    def _append(path: Path, content: bytes) -> int:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("ab") as handle:
            handle.write(content)
        return len(content)

    @staticmethod
    def _delete(context: NodeContext, path: Path, shown: str) -> dict[str, Any]:
        if path.is_dir() and not path.is_symlink():
            raise ValidationFault(
                f"Node '{context.node_id}' data.path: '{shown}' is a directory; "
                "delete removes files only.")
        path.unlink()
        return {"path": shown, "deleted": True}

    def _list(self, context: NodeContext) -> dict[str, Any]:
        pattern = context.data["path"]
        root = file_root()
        if not isinstance(pattern, str) or not GLOB_CHARACTERS.intersection(pattern):
            directory = path_under_root(context, pattern, "path")
            if not directory.is_dir():
                raise ValidationFault(
                    f"Node '{context.node_id}' data.path: '{relative_to_root(directory)}' "
                    "is not a directory.")
            matches = list(directory.iterdir())
            shown = relative_to_root(directory)
        else:
            # Check the pattern like a path (no absolute path, no '..'); then keep only
            # matches that stay under the root once their symlinks are resolved.
            path_under_root(context, pattern, "path")
            if ".." in pattern.replace("\\", "/").split("/"):
                raise ValidationFault(
                    f"Node '{context.node_id}' data.path '{pattern}': a glob may not hold '..'.")
            matches = list(root.glob(pattern.replace("\\", "/")))
            shown = pattern
        paths = sorted(
            relative_to_root(match) for match in matches
            if _inside(match.resolve(), root) and match != root
        )
        return {"path": shown, "paths": paths}
