"""Node types that talk to other systems: HTTP, databases, email, files and FTP."""

from __future__ import annotations

from typing import Any

from workflows.nodes.base import NodeCategory, NodeType
from workflows.nodes.fragments import (
    SECRET_NAME,
    TIMEOUT_SECONDS,
    email_address_problem,
    templated,
)
from workflows.templating import is_template

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


class FtpTransfer(NodeType):
    name = "FtpTransfer"
    category = NodeCategory.INTEGRATION
    description = "Upload, download, list or delete files on an FTP or FTPS server."
    data_schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["connection", "action", "remote_path"],
        "properties": {
            "connection": {
                **SECRET_NAME,
                "description": "Name of the secret holding the server URL, "
                "ftp://user:password@host:port.",
            },
            "action": {"enum": ["upload", "download", "list", "delete"]},
            "remote_path": {"type": "string", "minLength": 1},
            "local_path": {
                "type": "string",
                "minLength": 1,
                "description": "Under the file root; needed by upload and download.",
            },
            "tls": {"type": "boolean", "default": False, "description": "Use FTPS."},
            "passive": {"type": "boolean", "default": True},
        },
        "if": {
            "required": ["action"],
            "properties": {"action": {"enum": ["upload", "download"]}},
        },
        "then": {"required": ["local_path"]},
    }
    output_schema = {
        "type": "object",
        "required": ["files", "bytes"],
        "properties": {
            "files": {"type": "array", "items": {"type": "string"}},
            "bytes": {"type": "integer", "minimum": 0},
        },
    }
