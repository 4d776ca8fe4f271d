"""Error codes of the workflows app."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from rest_framework import status

from config.errors import ApplicationError


class WorkflowErrorCode(StrEnum):
    INVALID_DEFINITION = "invalid_definition"
    DEFINITION_SYNTAX = "definition_syntax"
    WORKFLOW_EXISTS = "workflow_exists"
    VERSION_CONFLICT = "version_conflict"
    VERSION_NOT_FOUND = "version_not_found"
    WORKFLOW_NOT_FOUND = "workflow_not_found"
    SECRET_EXISTS = "secret_exists"
    SECRETS_KEY_INVALID = "secrets_key_invalid"
    UNKNOWN_NODE_TYPE = "unknown_node_type"
    DEPENDENCY_CYCLE = "dependency_cycle"


class DefinitionInvalidError(ApplicationError):
    """A definition that failed validation; details list every problem with its node or edge."""

    code = WorkflowErrorCode.INVALID_DEFINITION

    def __init__(self, report: Any, message: str | None = None) -> None:
        errors = report.errors
        first = errors[0].message if errors else "The definition is invalid."
        summary = message or (
            f"The definition has {len(errors)} problem(s); the first: {first}"
        )
        super().__init__(summary, details=report.as_dict())


class DefinitionSyntaxInvalidError(ApplicationError):
    """A document that is not valid JSON or YAML, with the line and column."""

    code = WorkflowErrorCode.DEFINITION_SYNTAX

    def __init__(self, problem: Any) -> None:
        super().__init__(problem.message, details={"errors": [problem.as_dict()]})


class WorkflowConflictError(ApplicationError):
    status_code = status.HTTP_409_CONFLICT
    code = WorkflowErrorCode.WORKFLOW_EXISTS


class VersionConflictError(ApplicationError):
    status_code = status.HTTP_409_CONFLICT
    code = WorkflowErrorCode.VERSION_CONFLICT


class VersionNotFoundError(ApplicationError):
    status_code = status.HTTP_404_NOT_FOUND
    code = WorkflowErrorCode.VERSION_NOT_FOUND


class SecretConflictError(ApplicationError):
    status_code = status.HTTP_409_CONFLICT
    code = WorkflowErrorCode.SECRET_EXISTS


class DependencyCycleError(ApplicationError):
    """`settings.dependencies` that would make workflows wait on each other forever."""

    code = WorkflowErrorCode.DEPENDENCY_CYCLE
