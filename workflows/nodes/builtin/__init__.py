"""The 18 built-in node types, in the order the contract lists them."""

from __future__ import annotations

from workflows.nodes.base import NodeType
from workflows.nodes.builtin.control import Conditional, Loop, Subworkflow
from workflows.nodes.builtin.data import Counter, Logger, Transform, Validator, Variable
from workflows.nodes.builtin.integration import (
    DatabaseQuery,
    EmailNotification,
    FileOperation,
    FtpTransfer,
    HttpRequest,
)
from workflows.nodes.builtin.waiting import Delay, Timer, UserAction, WaitForMessage, Webhook

BUILTIN_NODE_TYPES: tuple[type[NodeType], ...] = (
    HttpRequest,
    DatabaseQuery,
    EmailNotification,
    FileOperation,
    FtpTransfer,
    Conditional,
    Loop,
    Delay,
    Variable,
    Transform,
    Logger,
    Webhook,
    Timer,
    Counter,
    Validator,
    Subworkflow,
    UserAction,
    WaitForMessage,
)

__all__ = [
    "BUILTIN_NODE_TYPES",
    "Conditional",
    "Counter",
    "DatabaseQuery",
    "Delay",
    "EmailNotification",
    "FileOperation",
    "FtpTransfer",
    "HttpRequest",
    "Logger",
    "Loop",
    "Subworkflow",
    "Timer",
    "Transform",
    "UserAction",
    "Validator",
    "Variable",
    "WaitForMessage",
    "Webhook",
]
