"""FtpTransfer: upload, download, list and delete over FTP or FTPS."""

from __future__ import annotations

import ftplib
import posixpath
import ssl
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from workflows.nodes.base import NodeCategory, NodeType
from workflows.nodes.builtin.integration.files import path_under_root
from workflows.nodes.context import NodeContext
from workflows.nodes.faults import (
    ExternalFault,
    TimeoutFault,
    TransientFault,
    ValidationFault,
)
from workflows.nodes.fragments import (
    SECRET_NAME,
)

FTP_TIMEOUT = 30


class FtpTransfer(NodeType):
    name = "FtpTransfer"
    reads_outputs = False
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
                "ftp://user:password@host:port or ftps://... (FTPS: explicit TLS, protected "
                "data channel); without a user, anonymous.",
            },
            "action": {"enum": ["upload", "download", "list", "delete"]},
            "remote_path": {
                "type": "string",
                "minLength": 1,
                "description": "The file on the server (upload, download, delete) or the "
                "directory to list.",
            },
            "local_path": {
                "type": "string",
                "minLength": 1,
                "description": "Under the file root; needed by upload and download (download "
                "replaces the file and creates missing directories).",
            },
            "tls": {"type": "boolean", "default": False,
                    "description": "Use FTPS; an ftps:// URL does too."},
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
            "files": {
                "type": "array",
                "items": {"type": "string"},
                "description": "upload, download, delete: [remote_path]; list: the names in "
                "the directory, sorted.",
            },
            "bytes": {
                "type": "integer",
                "minimum": 0,
                "description": "Bytes transferred; for list, the total size of the files "
                "listed (0 when the server does not tell).",
            },
        },
    }

    def execute(self, context: NodeContext) -> Any:
        data = context.data
        action = data["action"]
        remote = data["remote_path"]
        if not isinstance(remote, str) or not remote.strip() or "\r" in remote or "\n" in remote:
            raise ValidationFault(
                f"Node '{context.node_id}' data.remote_path must be a path on one line.")
        local = None
        if action in ("upload", "download"):
            if "local_path" not in data:
                raise ValidationFault(
                    f"Node '{context.node_id}' data.local_path is needed by {action}.")
            local = path_under_root(context, data["local_path"], "local_path")
            if action == "upload" and not local.is_file():
                raise ValidationFault(
                    f"Node '{context.node_id}' data.local_path: '{data['local_path']}' is not "
                    "a file under the file root.")
        if action in ("upload", "delete"):
            # a redelivered attempt must not upload or delete again
            request = {"connection": data["connection"], "action": action,
                       "remote_path": remote}
            return context.external_call(
                request, lambda key: self._session(context, action, remote, local))
        return self._session(context, action, remote, local)

    def _client(self, context: NodeContext) -> ftplib.FTP:
        name = context.data["connection"]
        url = urlsplit(context.secret(name, field="connection"))
        scheme = url.scheme.lower()
        if scheme not in ("ftp", "ftps") or not url.hostname:
            raise ValidationFault(
                f"Node '{context.node_id}' data.connection: the secret '{name}' does not hold "
                "an ftp:// or ftps:// URL with a host.")
        tls = scheme == "ftps" or bool(context.data.get("tls"))
        # plain FTP is what the user chose in the secret's URL; ftps:// is offered next to it
        client = (ftplib.FTP_TLS(timeout=FTP_TIMEOUT) if tls  # noqa: S321
                  else ftplib.FTP(timeout=FTP_TIMEOUT))  # noqa: S321
        client.connect(url.hostname, url.port or 21)
        try:
            client.login(unquote(url.username or "anonymous"), unquote(url.password or ""))
            if tls:
                client.prot_p()
            client.set_pasv(context.data.get("passive", True))
        except BaseException:
            client.close()
            raise
        return client

    def _session(self, context: NodeContext, action: str, remote: str,
                 local: Path | None) -> dict[str, Any]:
        where = f"Node '{context.node_id}'"
        try:
            client = self._client(context)
            try:
                return getattr(self, f"_{action}")(client, remote, local)
            finally:
                client.close()
        except ftplib.error_temp as exc:
            raise TransientFault(f"{where}: the FTP server refused for now: {exc}") from None
        except ftplib.error_perm as exc:
            raise ExternalFault(
                f"{where}: the FTP server refused {action} of '{remote}': {exc}") from None
        except (ftplib.error_reply, ftplib.error_proto, EOFError) as exc:
            raise ExternalFault(f"{where}: unexpected answer from the FTP server: {exc}") \
                from None
        except TimeoutError:
            raise TimeoutFault(f"{where}: the FTP server did not answer in time.") from None
        except ssl.SSLError as exc:
            raise ExternalFault(f"{where}: TLS with the FTP server failed: {exc.reason}") \
                from None
        except OSError as exc:
            if local is not None and exc.filename == str(local):
                raise ValidationFault(
                    f"{where} data.local_path: {exc.strerror}: "
                    f"'{context.data['local_path']}'.") from None
            raise TransientFault(f"{where}: cannot reach the FTP server: {exc}") from None

    @staticmethod
    def _upload(client: ftplib.FTP, remote: str, local: Path) -> dict[str, Any]:
        with local.open("rb") as source:
            client.storbinary(f"STOR {remote}", source)
        return {"files": [remote], "bytes": local.stat().st_size}

    @staticmethod
    def _download(client: ftplib.FTP, remote: str, local: Path) -> dict[str, Any]:
        local.parent.mkdir(parents=True, exist_ok=True)
        received = 0
        partial = local.with_name(f".{local.name}.part")
        with partial.open("wb") as target:
            def write(block: bytes) -> None:
                nonlocal received
                target.write(block)
                received += len(block)

            try:
                client.retrbinary(f"RETR {remote}", write)
            except BaseException:
                partial.unlink(missing_ok=True)
                raise
        partial.replace(local)
        return {"files": [remote], "bytes": received}

    @staticmethod
    def _list(client: ftplib.FTP, remote: str, local: Path | None) -> dict[str, Any]:
        try:
            entries = [(name, facts) for name, facts in client.mlsd(remote, ["type", "size"])
                       if facts.get("type") not in ("cdir", "pdir")]
        except ftplib.error_perm as exc:
            if not str(exc).startswith(("500", "502")):
                raise
            names = client.nlst(remote)  # a server without MLSD
            return {"files": sorted(posixpath.basename(name) for name in names), "bytes": 0}
        size = sum(int(facts.get("size", 0)) for _, facts in entries
                   if facts.get("type") == "file")
        return {"files": sorted(name for name, _ in entries), "bytes": size}

    @staticmethod
    def _delete(client: ftplib.FTP, remote: str, local: Path | None) -> dict[str, Any]:
        client.delete(remote)
        return {"files": [remote], "bytes": 0}
