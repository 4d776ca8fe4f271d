"""Error codes of the collaboration app."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from rest_framework import status

from config.errors import ApplicationError


class CollaborationErrorCode(StrEnum):
    STATE_VERSION_CONFLICT = "state_version_conflict"
    STATE_FULL = "state_full"
    DRAFT_INVALID = "draft_invalid"
    DRAFT_FULL = "draft_full"
    COMMENTS_FULL = "comments_full"


class StateVersionConflictError(ApplicationError):
    """A write named the version it read, and another write came first."""

    status_code = status.HTTP_409_CONFLICT
    code = CollaborationErrorCode.STATE_VERSION_CONFLICT


class StateFullError(ApplicationError):
    """The workflow holds `COLLABORATION_STATE_MAX_KEYS` keys already."""

    status_code = status.HTTP_409_CONFLICT
    code = CollaborationErrorCode.STATE_FULL


class DraftInvalidError(ApplicationError):
    """A draft that cannot be published: details hold its validation report."""

    code = CollaborationErrorCode.DRAFT_INVALID

    def __init__(self, report: Any) -> None:
        first = report.errors[0].message if report.errors else "The draft is invalid."
        super().__init__(f"The draft has {len(report.errors)} problem(s); the first: {first}",
                         details=report.as_dict())


class DraftFullError(ApplicationError):
    """The draft would grow past `COLLABORATION_DRAFT_MAX_BYTES`."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    code = CollaborationErrorCode.DRAFT_FULL


class CommentsFullError(ApplicationError):
    """The node's thread holds `COLLABORATION_THREAD_MAX_COMMENTS` comments already."""

    status_code = status.HTTP_409_CONFLICT
    code = CollaborationErrorCode.COMMENTS_FULL
