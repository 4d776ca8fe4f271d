"""Sending to a workflow's collaboration sockets, in every web process (Channels groups)."""

from __future__ import annotations

import logging
from typing import Any

from config.live import group_send as send

logger = logging.getLogger(__name__)


def workflow_group(workflow_id: Any) -> str:
    """The Channels group of a workflow's collaboration sockets."""
    return f"collaboration.workflow.{workflow_id}"


def group_send(workflow_id: Any, message: dict[str, Any], *, group: str | None = None
               ) -> None:
    """Send to the workflow's collaboration sockets (or to `group`). Best effort, like
    every live update: a client that missed one resumes from the events (`?after=`), its
    next snapshot, or (a draft socket) the stored updates."""
    try:
        send(group or workflow_group(workflow_id), message)
    except Exception:  # noqa: BLE001 - the channel layer is down: the durable copy stays
        logger.exception("collaboration message to workflow %s not sent", workflow_id)
