"""Node types that talk to other systems: HTTP, databases, email, files and FTP."""

from workflows.nodes.builtin.integration.database import DatabaseQuery
from workflows.nodes.builtin.integration.email import EmailNotification
from workflows.nodes.builtin.integration.files import FileOperation
from workflows.nodes.builtin.integration.ftp import FtpTransfer
from workflows.nodes.builtin.integration.http import HttpRequest

__all__ = ["DatabaseQuery", "EmailNotification", "FileOperation", "FtpTransfer", "HttpRequest"]
