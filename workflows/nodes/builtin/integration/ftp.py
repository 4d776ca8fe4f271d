"""FtpTransfer: upload, download, list and delete over FTP or FTPS."""

from __future__ import annotations

from workflows.nodes.base import NodeCategory, NodeType
from workflows.nodes.fragments import (
    SECRET_NAME,
)


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
