"""Flower, Celery's monitor, served at `/flower/` to the platform's staff users: each request
is passed to the Flower process (`FLOWER_INTERNAL_URL`, started with `--url_prefix=flower`)
and its answer streamed back. docs/flower.md says what is passed and why."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import httpx
from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils.encoding import escape_uri_path
from django.views.decorators.csrf import csrf_exempt

from config.csp import HEADER as CSP_HEADER
from monitoring.models import AuditAction
from monitoring.services import security_event_record

PREFIX = "/flower/"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# What Flower is told of the browser's request: what it asks for and what it sends. Never
# its cookies or Authorization (the platform's own credentials), nor Origin, Referer and
# Sec-Fetch-* (about the browser and this origin, checked here).
REQUEST_HEADERS = frozenset({
    "accept", "accept-language", "cache-control", "content-type", "if-modified-since",
    "if-none-match", "x-requested-with",
})
# What the browser is told of Flower's answer. Not its Set-Cookie (Flower's `_xsrf` is of
# no use behind the platform, and cookies of this origin are the platform's), nor its
# Server header; its Content-Security-Policy is the platform's (`policy`).
RESPONSE_HEADERS = (
    "content-type", "content-length", "content-encoding", "cache-control", "etag",
    "last-modified", "expires", "location",
)
# The only inline scripts of Flower's pages (its workers page, with auto-refresh off and on).
# The CSP admits exactly these by their hash: any other inline script, one injected through a
# task's arguments say, stays refused.
INLINE_SCRIPTS = ("\nvar autorefresh = 0;\n", "\nvar autorefresh = 1;\n")


def _script_hash(script: str) -> str:
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    return f"'sha256-{digest}'"


def policy() -> str:
    """The platform's Content-Security-Policy (settings.CONTENT_SECURITY_POLICY: nothing from
    another origin) with Flower's known inline scripts admitted by their hashes."""
    directives = {name: list(sources) for name, sources in
                  settings.CONTENT_SECURITY_POLICY.items()}
    directives["script-src"] = [*directives.get("script-src", ["'self'"]),
                                *(_script_hash(script) for script in INLINE_SCRIPTS)]
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives.items())


def _plain(status: int, message: str) -> HttpResponse:
    return HttpResponse(message + "\n", status=status, content_type="text/plain; charset=utf-8")


def _same_origin(request: HttpRequest) -> bool:
    """Whether a browser sent this request from a page of the platform's own origin: the
    proxy is exempt from Django's CSRF token (Flower's scripts do not send it), so a request
    that changes something must say where it comes from."""
    site = request.headers.get("Sec-Fetch-Site")
    if site:
        return site == "same-origin"
    origin = request.headers.get("Origin")
    return bool(origin) and (origin == f"{request.scheme}://{request.get_host()}"
                             or origin in settings.CSRF_TRUSTED_ORIGINS)


def _upstream_headers(request: HttpRequest) -> dict[str, str]:
    headers = {name: value for name, value in request.headers.items()
               if name.lower() in REQUEST_HEADERS}
    # Relayed byte for byte: Flower answers in the encoding the browser accepts, or in none.
    headers["Accept-Encoding"] = request.headers.get("Accept-Encoding") or "identity"
    if settings.FLOWER_BASIC_AUTH:
        credential = base64.b64encode(settings.FLOWER_BASIC_AUTH[0].encode()).decode()
        headers["Authorization"] = f"Basic {credential}"
    return headers


async def _relay(upstream: httpx.Response, client: httpx.AsyncClient) -> AsyncIterator[bytes]:
    try:
        async for chunk in upstream.aiter_raw():
            yield chunk
    finally:
        await upstream.aclose()
        await client.aclose()


@csrf_exempt
async def flower(request: HttpRequest) -> HttpResponseBase:
    """`/flower/...`: Flower's pages, static files and API, for staff users."""
    user = await request.auser()
    if not user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not user.is_staff:
        await sync_to_async(security_event_record)(
            action=AuditAction.PERMISSION_DENIED, actor=user, object_type="request",
            object_repr=f"{request.method} {request.path}")
        raise PermissionDenied
    if not settings.FLOWER_INTERNAL_URL:
        return _plain(404, "Flower is not served here: FLOWER_INTERNAL_URL is empty "
                           "(docs/flower.md).")
    if request.method not in SAFE_METHODS and not _same_origin(request):
        return _plain(403, "Refused: a request that changes something must come from a page "
                           "of this site (Origin or Sec-Fetch-Site).")
    limit = settings.FLOWER_PROXY_MAX_BODY_BYTES
    if len(request.body) > limit:
        return _plain(413, f"The request body is larger than FLOWER_PROXY_MAX_BODY_BYTES "
                           f"({limit} bytes).")

    origin = settings.FLOWER_INTERNAL_URL.rstrip("/")
    url = origin + escape_uri_path(request.path_info)
    if query := request.META.get("QUERY_STRING"):
        url += "?" + query
    client = httpx.AsyncClient(timeout=settings.FLOWER_PROXY_TIMEOUT, trust_env=False)
    try:
        upstream = await client.send(
            client.build_request(request.method, url, headers=_upstream_headers(request),
                                 content=request.body or None),
            stream=True)
    except httpx.TimeoutException:
        await client.aclose()
        return _plain(504, f"Flower at {origin} did not answer within FLOWER_PROXY_TIMEOUT "
                           f"({settings.FLOWER_PROXY_TIMEOUT} s).")
    except httpx.HTTPError as error:
        await client.aclose()
        return _plain(502, f"Flower at {origin} cannot be reached: {error}")
    if upstream.status_code == 401:
        await upstream.aclose()
        await client.aclose()
        return _plain(502, "Flower refused the platform's login: give the web server the "
                           "FLOWER_BASIC_AUTH that Flower runs with (docs/flower.md).")

    response = StreamingHttpResponse(_relay(upstream, client), status=upstream.status_code)
    del response["Content-Type"]
    for name in RESPONSE_HEADERS:
        if name in upstream.headers:
            response[name] = upstream.headers[name]
    location = upstream.headers.get("location")
    if location and urlsplit(location).netloc == urlsplit(origin).netloc:
        parts = urlsplit(location)
        response["Location"] = parts.path + (f"?{parts.query}" if parts.query else "")
    response[CSP_HEADER] = policy()
    return response
