"""Error codes of the collaboration app."""

from __future__ import annotations

from enum import StrEnum

from rest_framework import status

from config.errors import ApplicationError


class CollaborationErrorCode(StrEnum):
    STATE_VERSION_CONFLICT = "state_version_conflict"
    STATE_FULL = "state_full"


class StateVersionConflictError(ApplicationError):
    """A write named the version it read, and another write came first."""

    status_code = status.HTTP_409_CONFLICT
    code = CollaborationErrorCode.STATE_VERSION_CONFLICT


class StateFullError(ApplicationError):
    """The workflow holds `COLLABORATION_STATE_MAX_KEYS` keys already."""

    status_code = status.HTTP_409_CONFLICT
    code = CollaborationErrorCode.STATE_FULL
