"""Request middleware: correlation ids and the request body limit."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from config.errors import PayloadTooLargeError
from monitoring.correlation import bound, correlation_id_accept

CORRELATION_HEADER = "X-Correlation-ID"


def _client_address(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


class CorrelationIdMiddleware:
    """Accepts `X-Correlation-ID` (or makes one), binds it for the request, returns it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        correlation_id = correlation_id_accept(request.headers.get(CORRELATION_HEADER))
        request.correlation_id = correlation_id
        with bound(correlation_id, _client_address(request)):
            response = self.get_response(request)
        response[CORRELATION_HEADER] = correlation_id
        return response


class RequestSizeLimitMiddleware:
    """Answers 413 before reading a body that declares itself over the limit."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.MAX_DEFINITION_BYTES:
            error = PayloadTooLargeError(
                f"The request body is {length} bytes; the maximum is "
                f"{settings.MAX_DEFINITION_BYTES} bytes.",
                details={"max_bytes": settings.MAX_DEFINITION_BYTES},
            )
            return JsonResponse(error.as_dict(), status=error.status_code)
        return self.get_response(request)
