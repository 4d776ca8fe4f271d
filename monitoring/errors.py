"""Error codes of the monitoring app."""

from __future__ import annotations

from enum import StrEnum

from rest_framework import status

from config.errors import ApplicationError


class MonitoringErrorCode(StrEnum):
    METRICS_UNAVAILABLE = "metrics_unavailable"


class MetricsUnavailableError(ApplicationError):
    """A figure's store (Redis, the broker) cannot be reached now; try again later."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    code = MonitoringErrorCode.METRICS_UNAVAILABLE
