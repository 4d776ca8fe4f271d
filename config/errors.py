"""The platform's error contract: every API error is `{code, message, details}`.

Apps raise `ApplicationError` subclasses (each app keeps its codes in `errors.py`);
DRF's own exceptions are translated here, so a client only ever sees this shape.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from enum import StrEnum
from typing import Any
from urllib.parse import parse_qsl

from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.defaults import page_not_found as html_page_not_found
from django.views.defaults import server_error as html_server_error
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)


class ErrorCode(StrEnum):
    """Codes shared by every endpoint."""

    INVALID_INPUT = "invalid_input"
    PARSE_ERROR = "parse_error"
    NOT_AUTHENTICATED = "not_authenticated"
    AUTHENTICATION_FAILED = "authentication_failed"
    PERMISSION_DENIED = "permission_denied"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    NOT_ACCEPTABLE = "not_acceptable"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    THROTTLED = "throttled"
    CONFLICT = "conflict"
    SERVER_ERROR = "server_error"


class ApplicationError(Exception):
    """Base of every error the platform reports on purpose."""

    status_code: int = status.HTTP_400_BAD_REQUEST
    code: str = ErrorCode.INVALID_INPUT

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: dict[str, Any] | None = None,
        status_code: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status_code is not None:
            self.status_code = status_code
        self.details = details or {}

    def as_dict(self) -> dict[str, Any]:
        return {"code": str(self.code), "message": self.message, "details": self.details}


class NotFoundError(ApplicationError):
    status_code = status.HTTP_404_NOT_FOUND
    code = ErrorCode.NOT_FOUND


class PermissionDeniedError(ApplicationError):
    status_code = status.HTTP_403_FORBIDDEN
    code = ErrorCode.PERMISSION_DENIED


class ConflictError(ApplicationError):
    status_code = status.HTTP_409_CONFLICT
    code = ErrorCode.CONFLICT


class PayloadTooLargeError(ApplicationError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    code = ErrorCode.PAYLOAD_TOO_LARGE


_DRF_CODES: dict[type[exceptions.APIException], str] = {
    exceptions.ParseError: ErrorCode.PARSE_ERROR,
    exceptions.NotAuthenticated: ErrorCode.NOT_AUTHENTICATED,
    exceptions.AuthenticationFailed: ErrorCode.AUTHENTICATION_FAILED,
    exceptions.PermissionDenied: ErrorCode.PERMISSION_DENIED,
    exceptions.NotFound: ErrorCode.NOT_FOUND,
    exceptions.MethodNotAllowed: ErrorCode.METHOD_NOT_ALLOWED,
    exceptions.NotAcceptable: ErrorCode.NOT_ACCEPTABLE,
    exceptions.UnsupportedMediaType: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
    exceptions.Throttled: ErrorCode.THROTTLED,
}


def _drf_code(exc: exceptions.APIException) -> str:
    for cls in type(exc).__mro__:
        if cls in _DRF_CODES:
            return _DRF_CODES[cls]
    if isinstance(exc, exceptions.ValidationError):
        return ErrorCode.INVALID_INPUT
    return str(exc.default_code)


def _message(detail: Any) -> str:
    if isinstance(detail, list) and detail:
        return _message(detail[0])
    if isinstance(detail, dict) and "detail" in detail:
        return str(detail["detail"])
    return str(detail)


def _permission_denied_record(context: dict) -> None:
    """A refused permission is a security event (audit log and metric): probing shows."""
    from monitoring.models import AuditAction
    from monitoring.services import security_event_record

    request = context.get("request")
    if request is None:
        return
    security_event_record(action=AuditAction.PERMISSION_DENIED, actor=request.user,
                          object_type="request", object_repr=f"{request.method} {request.path}")


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """Render every error as `{code, message, details}` with the right 4xx status."""
    if isinstance(exc, (PermissionDenied, exceptions.PermissionDenied)) or (
            isinstance(exc, ApplicationError) and exc.status_code == status.HTTP_403_FORBIDDEN):
        _permission_denied_record(context)
    if isinstance(exc, ApplicationError):
        return Response(exc.as_dict(), status=exc.status_code)
    if isinstance(exc, RequestDataTooBig):
        error = PayloadTooLargeError("The request body is larger than the accepted maximum.")
        return Response(error.as_dict(), status=error.status_code)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response

    if isinstance(exc, exceptions.ValidationError):
        fields = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        first_field = next(iter(fields), None)
        message = (
            f"Invalid input in '{first_field}': {_message(fields[first_field])}"
            if first_field and first_field != "non_field_errors"
            else _message(fields.get("non_field_errors", exc.detail))
        )
        body = {"code": ErrorCode.INVALID_INPUT.value, "message": message,
                "details": {"fields": fields}}
    else:
        details: dict[str, Any] = {}
        if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
            details["retry_after"] = int(exc.wait)
        if getattr(exc, "fields", None):  # a body over a limit: where (config/parsers.py)
            details["fields"] = exc.fields
        body = {"code": str(_drf_code(exc)), "message": _message(exc.detail), "details": details}
    response.data = body
    return response


API_PREFIX = "/api/"

_STATUS_ERRORS: dict[int, tuple[ErrorCode, str]] = {
    400: (ErrorCode.INVALID_INPUT, "The request is malformed."),
    403: (ErrorCode.PERMISSION_DENIED, "You may not do this."),
    404: (ErrorCode.NOT_FOUND, "No API endpoint or object at this address."),
    405: (ErrorCode.METHOD_NOT_ALLOWED, "This method is not allowed here."),
    413: (ErrorCode.PAYLOAD_TOO_LARGE, "The request body is larger than the accepted maximum."),
}
_SERVER_ERROR = (ErrorCode.SERVER_ERROR,
                 "The server failed to answer this request; it has been logged.")


def json_error_response(status_code: int) -> JsonResponse:
    """The `{code, message, details}` answer for a bare HTTP status."""
    code, message = _STATUS_ERRORS.get(
        status_code, _SERVER_ERROR if status_code >= 500 else (ErrorCode.INVALID_INPUT,
                                                               "The request was refused."))
    return JsonResponse({"code": code.value, "message": message, "details": {}},
                        status=status_code)


def page_not_found(request: Any, exception: Exception) -> Any:
    """A URL that matches no route: JSON under /api/ (so API clients always get the
    `{code, message, details}` shape), Django's page elsewhere."""
    if request.path.startswith(API_PREFIX):
        return json_error_response(404)
    return html_page_not_found(request, exception)


def server_error(request: Any) -> Any:
    """An unhandled exception: JSON under /api/, Django's page elsewhere."""
    if request.path.startswith(API_PREFIX):
        return json_error_response(500)
    return html_server_error(request)


class NulRefusalMiddleware:
    """A NUL in the address is a 404 and one in the query a 400, on every page, before any
    view reads them: PostgreSQL refuses a NUL in text (a database error, not an answer), and
    no name or filter value the platform stores can hold one."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        query = request.META.get("QUERY_STRING", "")
        if "\x00" in request.path:
            status = 404
        elif "%00" in query or "\x00" in query:
            status = 400
        else:
            return self.get_response(request)
        if request.path.startswith(API_PREFIX):
            fields = _nul_fields(query) if status == 400 else []
            if not fields:
                return json_error_response(status)
            problem = "A NUL character (\\u0000) is not allowed."
            return JsonResponse({
                "code": ErrorCode.INVALID_INPUT.value,
                "message": f"Invalid input in '{fields[0]}': {problem}",
                "details": {"fields": {field: [problem] for field in fields}}}, status=400)
        return HttpResponse("A NUL character is not allowed in an address.",
                            status=status, content_type="text/plain; charset=utf-8")


def _nul_fields(query: str) -> list[str]:
    """The query parameters whose name or value holds a NUL, named without it."""
    fields: list[str] = []
    for name, value in parse_qsl(query, keep_blank_values=True):
        if "\x00" in name or "\x00" in value:
            field = name.replace("\x00", "") or "query"
            if field not in fields:
                fields.append(field)
    return fields


class ApiJsonErrorMiddleware:
    """Under /api/, an error answered in anything but JSON becomes `{code, message,
    details}` with the same status: Django's own pages (the debug 404 and 500 pages
    included, which also show settings and code), a CSRF refusal, a bare 400."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            response = self.get_response(request)
        except SuspiciousOperation as exc:
            # Only in DEBUG does one get here: Django's debug page for a request it refuses
            # (too many query fields) reads the same query again and fails in turn.
            if not request.path.startswith(API_PREFIX):
                raise
            return json_error_response(413 if isinstance(exc, RequestDataTooBig) else 400)
        if (
            response.status_code >= 400
            and request.path.startswith(API_PREFIX)
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            replacement = json_error_response(response.status_code)
            for header in ("Allow", "Retry-After", "WWW-Authenticate"):
                if header in response:
                    replacement[header] = response[header]
            return replacement
        return response
