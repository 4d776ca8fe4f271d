"""HttpRequest: an HTTP call with a circuit breaker per host and an Idempotency-Key.

How an answer or an error becomes the node's outcome:

- a status in `expected_status` (default: any 2xx) completes the node with
  `{status, headers, body}`; `body` is the parsed JSON when the answer says it is JSON,
  else its text; an answer over 10 MB is refused (validation fault);
- 5xx and 429: external fault, retried, no earlier than the `Retry-After` header says;
- any other status (an unexpected 4xx, or a 3xx when redirects are not followed):
  validation fault, not retried. The request itself is wrong (a missing resource, bad
  credentials, a refused payload) and sending it again cannot succeed; failing at once
  makes that visible instead of spending the retries and their delays;
- a connection that could not be made or broke: transient fault; a connect, read, write
  or pool timeout: timeout fault (both retried);
- a private, loopback, link-local or otherwise non-public address, unless allow-listed
  (`workflows.nodes.http_guard`), a non-http(s) URL or a missing secret: validation fault;
- an open circuit for the host (`workflows.nodes.breaker`): external fault, retried after
  the time the circuit stays open.

POST, PUT, PATCH and DELETE send `Idempotency-Key: <execution>:<node>[:<iteration>]`
(unless the node sets the header itself), the same for every attempt of the node run, and
go through the two-phase external call record: an attempt that finds the call completed
(a redelivery after the answer was recorded) returns that answer without calling again.
"""

from __future__ import annotations

import base64
import email.utils
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpcore
import httpx
from django.conf import settings

from config.parsers import JsonLimitError, json_loads, whole_number
from workflows.nodes.base import NodeCategory, NodeType
from workflows.nodes.breaker import breaker_for
from workflows.nodes.context import NodeContext
from workflows.nodes.faults import (
    ExternalFault,
    TimeoutFault,
    TransientFault,
    ValidationFault,
)
from workflows.nodes.fragments import (
    SECRET_NAME,
    TIMEOUT_SECONDS,
)
from workflows.nodes.http_guard import check_url, vetted_addresses

HTTP_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
STATUS_CODE = {"type": "integer", "minimum": 100, "maximum": 599}
QUERY_SCALAR = {"type": ["string", "number", "boolean"], "minimum": -(2**63), "maximum": 2**63}
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MAX_BODY_BYTES = 10 * 1024 * 1024
MAX_REDIRECTS = 10


class HttpRequest(NodeType):
    name = "HttpRequest"
    reads_outputs = False
    category = NodeCategory.INTEGRATION
    description = (
        "Call an HTTP endpoint. Unsafe methods carry a stable Idempotency-Key so a redelivered "
        "attempt is not applied twice; a circuit breaker per host stops hammering a failing one."
    )
    # The request's parts go to the peer, which is where a credential is meant to go: an API
    # key in the query or URL, a token in a header, a client secret in a token request's body.
    secret_fields = ("url", "headers", "query", "json", "body")
    data_schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["url"],
        "properties": {
            "url": {
                "type": "string",
                "pattern": r"^(?:https?://|\s*\{[{%])",
                "description": "Absolute http(s) URL; may hold templates.",
            },
            "method": {"enum": HTTP_METHODS, "default": "GET"},
            "headers": {
                "type": "object",
                "propertyNames": {"pattern": r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$"},
                "additionalProperties": {"type": "string"},
                "description": "Request headers; values may hold templates, and "
                "{{ secrets.<name> }}.",
            },
            "query": {
                "type": "object",
                "additionalProperties": {
                    "anyOf": [QUERY_SCALAR, {"type": "array", "items": QUERY_SCALAR}]
                },
                "description": "Query parameters added to the URL; a list repeats the parameter.",
            },
            "json": {"description": "A JSON body (any value; strings may hold templates)."},
            "body": {"type": "string", "description": "A raw text body; excludes `json`."},
            "auth": {
                "type": "object",
                "additionalProperties": False,
                "required": ["secret"],
                "properties": {
                    "secret": {
                        **SECRET_NAME,
                        "description": "Name of the secret holding the credential: "
                        "'user:password' for basic, the token for bearer, the header's value "
                        "for header.",
                    },
                    "type": {"enum": ["basic", "bearer", "header"], "default": "bearer"},
                    "header": {
                        "type": "string",
                        "default": "Authorization",
                        "description": "The header the secret is sent in, for type 'header'.",
                    },
                },
            },
            "expected_status": {
                "anyOf": [STATUS_CODE, {"type": "array", "items": STATUS_CODE, "minItems": 1}],
                "description": "Status codes that count as success; default: any 2xx.",
            },
            "timeout": {**TIMEOUT_SECONDS, "default": 30, "description": "Seconds per request."},
            "follow_redirects": {"type": "boolean", "default": True},
        },
    }
    output_schema = {
        "type": "object",
        "required": ["status", "headers", "body"],
        "properties": {
            "status": STATUS_CODE,
            "headers": {"type": "object", "additionalProperties": {"type": "string"},
                        "description": "Response headers by lower-case name; repeated ones "
                        "joined with ', '."},
            "body": {"description": "The parsed JSON body, or the text of any other body "
                     "(at most 10 MB)."},
        },
    }

    @classmethod
    def validate_data(cls, data: dict[str, Any]) -> list[tuple[str, str]]:
        if "json" in data and "body" in data:
            return [("body", "Set either 'json' or 'body', not both.")]
        return []

    def execute(self, context: NodeContext) -> dict[str, Any]:
        data = context.data
        method = data.get("method", "GET").upper()
        url = str(data["url"])
        check_url(url)
        request = _RequestSpec(
            method=method, url=url, headers=dict(data.get("headers") or {}),
            query=data.get("query") or {}, content=_content(data), auth=_auth(context, data),
            timeout=float(data.get("timeout", 30)),
            follow_redirects=bool(data.get("follow_redirects", True)),
            expected=_expected_statuses(data.get("expected_status")),
        )
        parts = httpx.URL(url)
        host = f"[{parts.host}]" if ":" in parts.host else parts.host
        breaker = breaker_for(f"{host}:{parts.port or _DEFAULT_PORTS[parts.scheme]}")
        if method not in UNSAFE_METHODS:
            return breaker.call(request.send, None)
        return context.external_call(
            {"method": method, "origin": f"{parts.scheme}://{parts.netloc.decode()}"},
            lambda key: breaker.call(request.send, key),
        )


_DEFAULT_PORTS = {"http": 80, "https": 443}


class _GuardedBackend(httpcore.SyncBackend):
    """Connects only to addresses the guard accepts, and to exactly those it checked."""

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: Any = None) -> httpcore.NetworkStream:
        failure: Exception | None = None
        for address in vetted_addresses(host, port):
            try:
                return super().connect_tcp(str(address), port, timeout, local_address,
                                           socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        raise failure or httpcore.ConnectError(f"{host} has no address")


def _guarded_transport() -> httpx.HTTPTransport:
    transport = httpx.HTTPTransport()
    # httpx has no option for the network backend; its pool opens every connection (also
    # for redirects) through this attribute, so the check covers each address connected to.
    transport._pool._network_backend = _GuardedBackend()
    return transport


@dataclass(frozen=True)
class _RequestSpec:
    """One rendered request, sent with the classification the module docstring describes."""

    method: str
    url: str
    headers: dict[str, str]
    query: dict[str, Any]
    content: tuple[bytes, str] | None
    auth: tuple[str, str] | None
    timeout: float
    follow_redirects: bool
    expected: Callable[[int], bool]

    def send(self, idempotency_key: str | None) -> dict[str, Any]:
        headers = httpx.Headers(self.headers)
        if idempotency_key and "idempotency-key" not in headers:
            headers["Idempotency-Key"] = idempotency_key
        if self.content is not None and "content-type" not in headers:
            headers["Content-Type"] = self.content[1]
        if self.auth is not None:
            headers[self.auth[0]] = self.auth[1]
        origin = httpx.URL(self.url).copy_with(path="/", query=None, fragment=None)
        hooks = {"request": [self._drop_auth_elsewhere(origin)]}
        try:
            with httpx.Client(transport=_guarded_transport(), timeout=self.timeout,
                              follow_redirects=self.follow_redirects,
                              max_redirects=MAX_REDIRECTS, trust_env=False,
                              event_hooks=hooks) as client:
                request = client.build_request(
                    self.method, self.url, params=self.query or None, headers=headers,
                    content=self.content[0] if self.content is not None else None)
                response = client.send(request, stream=True)
                try:
                    return self._outcome(response, _read_bounded(response))
                finally:
                    response.close()
        except httpx.TimeoutException as exc:
            raise TimeoutFault(f"{self.method} {self._host()} timed out: "
                               f"{type(exc).__name__}") from None
        except httpx.TooManyRedirects:
            raise ValidationFault(f"{self.method} {self._host()}: more than {MAX_REDIRECTS} "
                                  "redirects") from None
        except (httpx.UnsupportedProtocol, httpx.LocalProtocolError, httpx.InvalidURL) as exc:
            raise ValidationFault(f"{self.method} {self._host()}: {exc}") from None
        except httpx.DecodingError as exc:
            raise ExternalFault(f"{self.method} {self._host()}: undecodable answer: "
                                f"{exc}") from None
        except httpx.TransportError as exc:
            raise TransientFault(f"{self.method} {self._host()} failed: "
                                 f"{type(exc).__name__}: {exc}") from None

    def _drop_auth_elsewhere(self, origin: httpx.URL) -> Callable[[httpx.Request], None]:
        """A redirect to another origin does not carry the credential (httpx only drops
        `Authorization`; a custom auth header would travel along)."""
        def hook(request: httpx.Request) -> None:
            same = request.url.copy_with(path="/", query=None, fragment=None) == origin
            if self.auth is not None and not same:
                request.headers.pop(self.auth[0], None)
        return hook

    def _host(self) -> str:
        return httpx.URL(self.url).host

    def _outcome(self, response: httpx.Response, raw: bytes) -> dict[str, Any]:
        status = response.status_code
        text = raw.decode(response.encoding or "utf-8", errors="replace")
        if self.expected(status):
            return {"status": status, "headers": _headers(response.headers),
                    "body": _parsed_body(response, text)}
        details = {"status": status, "body": text[:1000]}
        message = f"{self.method} {self._host()} answered {status}"
        if status >= 500 or status == 429:
            raise ExternalFault(message, retry_after=_retry_after(response.headers),
                                details=details)
        raise ValidationFault(f"{message}, which is not an expected status", details=details)


def _read_bounded(response: httpx.Response) -> bytes:
    declared = response.headers.get("content-length", "")
    if (whole_number(declared, maximum=MAX_BODY_BYTES) or 0) > MAX_BODY_BYTES:
        raise _too_large(response)
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _too_large(response)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(response: httpx.Response) -> ValidationFault:
    return ValidationFault(
        f"{response.request.method} {response.request.url.host} answered with a body over "
        f"{MAX_BODY_BYTES // (1024 * 1024)} MB; refused",
        details={"status": response.status_code})


def _parsed_body(response: httpx.Response, text: str) -> Any:
    media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if text and (media_type == "application/json" or media_type.endswith("+json")):
        try:
            return json_loads(text)
        except JsonLimitError:  # not JSON, or over the limits of every JSON the platform keeps
            return text
    return text


def _headers(headers: httpx.Headers) -> dict[str, str]:
    return {name: ", ".join(headers.get_list(name)) for name in headers.keys()}  # noqa: SIM118


def _retry_after(headers: httpx.Headers) -> float | None:
    """Seconds from a Retry-After header (delay-seconds or an HTTP date), or None."""
    value = headers.get("retry-after", "").strip()
    if not value:
        return None
    longest = settings.WORKFLOW_RETRY_DELAY_MAX  # as long as a definition may ask for
    seconds = whole_number(value, maximum=longest)
    if seconds is not None:
        return float(min(seconds, longest))
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


def _expected_statuses(expected: int | list[int] | None) -> Callable[[int], bool]:
    if expected is None:
        return lambda status: 200 <= status < 300
    allowed = {expected} if isinstance(expected, int) else set(expected)
    return lambda status: status in allowed


def _content(data: Mapping[str, Any]) -> tuple[bytes, str] | None:
    if "json" in data:
        return json.dumps(data["json"]).encode(), "application/json"
    if "body" in data:
        return data["body"].encode(), "text/plain; charset=utf-8"
    return None


def _auth(context: NodeContext, data: Mapping[str, Any]) -> tuple[str, str] | None:
    """The credential header from the named secret, read so the engine redacts it."""
    auth = data.get("auth")
    if not auth:
        return None
    secret = context.secret(auth["secret"], field="auth.secret")
    kind = auth.get("type", "bearer")
    if kind == "basic":
        return "Authorization", "Basic " + base64.b64encode(secret.encode()).decode()
    if kind == "header":
        return auth.get("header", "Authorization"), secret
    return "Authorization", f"Bearer {secret}"
