"""OpenAPI pieces shared by every app: the error body and the error responses."""

from __future__ import annotations

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class TokenAuthenticationScheme(SimpleJWTScheme):
    """The bearer scheme of config.authentication (simplejwt's, with revocation checks)."""

    target_class = "config.authentication.TokenAuthentication"


class ErrorSerializer(serializers.Serializer):
    """Every error the API returns: a machine-readable code, a message and details."""

    code = serializers.CharField(help_text="Machine-readable error code, e.g. `invalid_input`.")
    message = serializers.CharField(help_text="A sentence for people.")
    details = serializers.DictField(
        help_text="Per-field (`fields`) or per-node (`errors`) details, depending on the code."
    )


_DESCRIPTIONS = {
    400: "Bad input: `details.fields` names each field, `details.errors` each node or edge.",
    401: "No or invalid credentials.",
    403: "Authenticated, but without the required permission.",
    404: "No such object.",
    405: "The method is not allowed here.",
    409: "Conflicts with the current state, e.g. a name already taken.",
    413: "The request body is larger than the accepted maximum.",
    415: "The body's content type is not accepted.",
    429: "Too many requests; `details.retry_after` says when to retry.",
    503: "Busy for a moment; `details.retry_after` says when to retry.",
}


def error_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    """The documented error responses of an operation."""
    return {
        status: OpenApiResponse(response=ErrorSerializer, description=_DESCRIPTIONS[status])
        for status in statuses
    }


ERROR_RESPONSES = error_responses(400, 401, 403, 429)
READ_ERRORS = error_responses(401, 403, 404, 429)
WRITE_ERRORS = error_responses(400, 401, 403, 404, 409, 413, 415, 429)


_METHODS = {"get", "put", "post", "patch", "delete", "head", "options", "trace"}


def every_operation_errors(result: dict, generator, request, public) -> dict:
    """drf-spectacular postprocessing hook: the errors any operation may answer, whatever its
    view says. A NUL in the query is a 400 naming the parameter on every page
    (config/errors.py), and a body over `MAX_DEFINITION_BYTES` a 413 wherever a body is
    read (config/asgi.py)."""
    errors = {status: {"description": _DESCRIPTIONS[status], "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/Error"}}}} for status in (400, 413)}
    for path in result.get("paths", {}).values():
        for method, operation in path.items():
            if method not in _METHODS:
                continue
            responses = operation.setdefault("responses", {})
            responses.setdefault("400", errors[400])
            if "requestBody" in operation:
                responses.setdefault("413", errors[413])
    return result
