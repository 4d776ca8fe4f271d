"""Request middleware: correlation ids and the request body limit."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from config.errors import PayloadTooLargeError
from monitoring.correlation import bound, correlation_id_accept

CORRELATION_HEADER = "X-Correlation-ID"


def client_address(request: HttpRequest) -> str | None:
    """The client's address as the trusted proxies give it (TRUSTED_PROXIES, the same rule
    as DRF's NUM_PROXIES for throttles): REMOTE_ADDR, or the entry of X-Forwarded-For that
    many hops from the right, which the nearest trusted proxy wrote. Entries further left
    are the client's own claims and never count."""
    address = request.META.get("REMOTE_ADDR") or None
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    if settings.TRUSTED_PROXIES and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",")]
        address = hops[-min(settings.TRUSTED_PROXIES, len(hops))]
    try:
        return str(ipaddress.ip_address(address)) if address else None
    except ValueError:
        return None


class CorrelationIdMiddleware:
    """Accepts `X-Correlation-ID` (or makes one), binds it for the request, returns it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        correlation_id = correlation_id_accept(request.headers.get(CORRELATION_HEADER))
        request.correlation_id = correlation_id
        with bound(correlation_id, client_address(request)):
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
