"""The audit log in the admin: read-only, searchable, filterable."""

from django.contrib import admin

from config.admin import ReadOnlyAdminMixin
from monitoring.models import AuditLog


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "actor_repr", "action", "object_type", "object_repr",
                    "client_address", "correlation_id"]
    list_filter = ["action", "object_type", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["object_repr", "object_id", "actor_repr", "correlation_id"]
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in AuditLog._meta.fields]

    view_permission = "workflow.admin"
