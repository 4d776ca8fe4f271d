"""The audit log in the admin: read-only, searchable, filterable; and the users."""

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from config.admin import ReadOnlyAdminMixin
from config.tokens import user_tokens_revoke
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


class UserAdmin(DjangoUserAdmin):
    """Django's user admin; deactivating a user also blacklists their refresh tokens, so
    that reactivating them does not bring their old sessions back."""

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        if change and "is_active" in form.changed_data and not obj.is_active:
            user_tokens_revoke(user=obj)


admin.site.unregister(get_user_model())
admin.site.register(get_user_model(), UserAdmin)
