"""The executions app's API: executions, and the waits that resume them."""

from executions.apis.executions import (
    ExecuteInputSerializer,
    ExecutionDetailSerializer,
    ExecutionViewSet,
)

__all__ = ["ExecuteInputSerializer", "ExecutionDetailSerializer", "ExecutionViewSet"]
