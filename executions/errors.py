"""Error codes of the executions app."""

from __future__ import annotations

from enum import StrEnum

from rest_framework import status

from config.errors import ApplicationError


class ExecutionErrorCode(StrEnum):
    INVALID_EXECUTION_INPUT = "invalid_execution_input"
    WORKFLOW_INACTIVE = "workflow_inactive"
    ILLEGAL_TRANSITION = "illegal_transition"
    BOOKMARK_CLOSED = "bookmark_closed"
    CONCURRENCY_LIMIT = "concurrency_limit"
    ADMISSION_BUSY = "admission_busy"
    INVALID_RESUME = "invalid_resume"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"


class ExecutionInputInvalidError(ApplicationError):
    """The input does not match the workflow's `inputs` schema; each problem names a field."""

    code = ExecutionErrorCode.INVALID_EXECUTION_INPUT


class WorkflowInactiveError(ApplicationError):
    status_code = status.HTTP_409_CONFLICT
    code = ExecutionErrorCode.WORKFLOW_INACTIVE


class IllegalTransitionError(ApplicationError):
    """A status change the contract does not allow, e.g. cancelling a completed execution."""

    status_code = status.HTTP_409_CONFLICT
    code = ExecutionErrorCode.ILLEGAL_TRANSITION


class BookmarkClosedError(ApplicationError):
    """The wait was already resumed, timed out or closed."""

    status_code = status.HTTP_409_CONFLICT
    code = ExecutionErrorCode.BOOKMARK_CLOSED


class ResumeInvalidError(ApplicationError):
    """The resume's payload is refused by the waiting node (outcome, form)."""

    code = ExecutionErrorCode.INVALID_RESUME


class ConcurrencyLimitError(ApplicationError):
    """The workflow runs as many executions as it may, and its overlap policy is skip."""

    status_code = status.HTTP_409_CONFLICT
    code = ExecutionErrorCode.CONCURRENCY_LIMIT


class IdempotencyKeyReusedError(ApplicationError):
    """An idempotency key that started a run of another workflow, or with another input:
    a key names one start, so a different one is refused rather than answered with a run
    the caller did not ask for."""

    status_code = status.HTTP_409_CONFLICT
    code = ExecutionErrorCode.IDEMPOTENCY_KEY_REUSED


class AdmissionBusyError(ApplicationError):
    """The workflow's admission lock stayed taken; the start may be sent again."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    code = ExecutionErrorCode.ADMISSION_BUSY
