"""The platform's own HTML pages outside the admin: the landing page and the API docs."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer


def landing(request: HttpRequest) -> HttpResponse:
    """`/`: links to what the platform serves, until a web UI takes this address."""
    context = {**admin.site.each_context(request), "flower_url": settings.FLOWER_URL}
    return render(request, "weft/landing.html", context)


class ApiDocsView(SpectacularSwaggerSplitView):
    """Swagger UI served from the platform's static files, its script out of the page (a
    strict Content-Security-Policy). A browser without a session goes to the login page
    and comes back; the schema itself stays a 401 for API clients."""

    def permission_denied(self, request, message=None, code=None):
        if request.user.is_authenticated:
            raise exceptions.PermissionDenied(detail=message, code=code)
        raise _LoginRequired(request.get_full_path())

    def handle_exception(self, exc):
        if isinstance(exc, _LoginRequired):
            return redirect_to_login(exc.next_path, login_url=reverse("admin:login"))
        return super().handle_exception(exc)


class _LoginRequired(Exception):
    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class SchemaView(SpectacularAPIView):
    """The OpenAPI schema; its errors are the API's JSON errors, not YAML."""

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return response
