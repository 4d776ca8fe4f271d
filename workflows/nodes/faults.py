"""Node faults: retryability is a property of the fault, not guessed from exception types."""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class FaultClass(StrEnum):
    VALIDATION = "validation"  # the node's input or configuration is wrong: retrying won't help
    TRANSIENT = "transient"  # a passing condition (connection reset, 503, lock timeout)
    TIMEOUT = "timeout"  # the attempt ran out of time
    EXTERNAL = "external"  # a peer answered with an error
    FATAL = "fatal"  # a defect or a state the node cannot handle


RETRYABLE = frozenset({FaultClass.TRANSIENT, FaultClass.TIMEOUT, FaultClass.EXTERNAL})


class NodeFault(Exception):
    """A node attempt failed; says whether it may be retried and after how long."""

    fault_class: FaultClass = FaultClass.FATAL

    def __init__(
        self,
        message: str,
        *,
        fault_class: FaultClass | None = None,
        retry_after: float | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if fault_class is not None:
            self.fault_class = fault_class
        self.retry_after = retry_after
        self.details = details or {}

    @property
    def retryable(self) -> bool:
        return self.fault_class in RETRYABLE

    def as_dict(self) -> dict[str, Any]:
        error: dict[str, Any] = {"fault": str(self.fault_class), "message": self.message}
        if self.details:
            error["details"] = self.details
        return error


class ValidationFault(NodeFault):
    fault_class = FaultClass.VALIDATION


class TransientFault(NodeFault):
    fault_class = FaultClass.TRANSIENT


class TimeoutFault(NodeFault):
    fault_class = FaultClass.TIMEOUT


class ExternalFault(NodeFault):
    fault_class = FaultClass.EXTERNAL


class FatalFault(NodeFault):
    fault_class = FaultClass.FATAL
