"""Top-level routes: the web UI, admin, API, OpenAPI, health and metrics."""

from django.contrib import admin
from django.urls import include, path, re_path
from rest_framework.routers import SimpleRouter

from config.auth import LoginApi, LogoutApi, MeApi, RefreshApi, admin_login
from config.pages import ApiDocsView, SchemaView
from monitoring.apis import AuditLogViewSet, health, health_ready
from monitoring.flower import flower
from monitoring.metrics import metrics_export

audit_router = SimpleRouter(trailing_slash=False)
audit_router.register("audit", AuditLogViewSet, basename="audit")

api_patterns = [
    path("auth/login", LoginApi.as_view(), name="auth-login"),
    path("auth/refresh", RefreshApi.as_view(), name="auth-refresh"),
    path("auth/logout", LogoutApi.as_view(), name="auth-logout"),
    path("auth/me", MeApi.as_view(), name="auth-me"),
    path("", include("workflows.urls")),
    path("", include("executions.urls")),
    path("collaboration/", include("collaboration.urls")),
    path("performance/", include("monitoring.urls")),
    *audit_router.urls,
    path("schema/", SchemaView.as_view(), name="schema"),
    path("docs/", ApiDocsView.as_view(url_name="schema"), name="swagger-ui"),
]

urlpatterns = [
    path("health", health, name="health"),
    path("health/ready", health_ready, name="health-ready"),
    path("metrics", metrics_export, name="prometheus-django-metrics"),
    path("admin/login/", admin_login, name="admin-login"),  # throttled and audited
    path("admin/", admin.site.urls),
    re_path(r"^flower/", flower, name="flower"),  # staff only, docs/flower.md
    path("api/", include(api_patterns)),
    path("", include("ui.urls")),
]

handler404 = "config.errors.page_not_found"
handler500 = "config.errors.server_error"
