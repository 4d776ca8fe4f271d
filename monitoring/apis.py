"""Health endpoints (public) and the audit log API (workflow.admin)."""

from __future__ import annotations

import logging

import django_filters
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets

from config.filters import UtcDateTimeFilter
from config.openapi import error_responses
from monitoring import selectors
from monitoring.models import AuditAction, AuditLog
from workflows.permissions import WorkflowAdminPermission

logger = logging.getLogger(__name__)


@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers. Checks nothing else, so it never flaps."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def health_ready(request: HttpRequest) -> JsonResponse:
    """Readiness: database, broker, result backend and channel layer, each reported. The
    answer is public (load balancers): a failing check names its kind of failure; what
    failed, which names the services' hosts and users, goes to the log, and to signed-in
    staff users."""
    checks = selectors.readiness()
    ready = all(check.ok for check in checks)
    for check in checks:
        if not check.ok:
            logger.warning("readiness: %s failed: %s", check.name, check.detail)
    detailed = request.user.is_authenticated and request.user.is_staff
    return JsonResponse(
        {"status": "ready" if ready else "unavailable",
         "checks": {check.name: check.as_dict(detailed=detailed) for check in checks}},
        status=200 if ready else 503,
    )


class AuditLogFilter(django_filters.FilterSet):
    since = UtcDateTimeFilter(field_name="created_at", lookup_expr="gte")
    until = UtcDateTimeFilter(field_name="created_at", lookup_expr="lt")
    actor = django_filters.CharFilter(field_name="actor_repr")
    action = django_filters.ChoiceFilter(choices=AuditAction.choices)

    class Meta:
        model = AuditLog
        fields = ["object_type", "object_id", "correlation_id"]


class AuditLogOutputSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_repr")

    class Meta:
        model = AuditLog
        fields = [
            "id", "created_at", "actor", "action", "object_type", "object_id", "object_repr",
            "before", "after", "correlation_id", "client_address",
        ]


@extend_schema(
    tags=["audit"],
    responses={200: AuditLogOutputSerializer, **error_responses(400, 401, 403, 404, 429)},
)
class AuditLogViewSet(viewsets.ReadOnlyModelViewSet):
    """The audit log: every change made through the API or the admin."""

    permission_classes = [WorkflowAdminPermission]
    serializer_class = AuditLogOutputSerializer
    filterset_class = AuditLogFilter
    search_fields = ["object_repr", "actor_repr", "object_id"]
    ordering_fields = ["created_at", "action", "object_type"]
    ordering = ["-created_at"]

    def get_queryset(self):
        return selectors.audit_log_list()
