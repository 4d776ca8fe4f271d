"""The API's documentation pages: Swagger UI and the OpenAPI schema."""

from __future__ import annotations

from django.contrib.auth.views import redirect_to_login
from django.urls import reverse
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer


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
            return redirect_to_login(exc.next_path, login_url=reverse("login"))
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
