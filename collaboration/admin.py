"""Operators see a workflow's collaboration events and shared state; they change them
through the API (whose services number the events and send them live), not here."""

from __future__ import annotations

from django.contrib import admin

from collaboration.models import CollaborationEvent, SharedState


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(CollaborationEvent)
class CollaborationEventAdmin(ReadOnlyAdmin):
    list_display = ["workflow", "seq", "kind", "user", "created_at"]
    list_filter = ["kind"]
    search_fields = ["workflow__name", "workflow__namespace", "user__username"]
    list_select_related = ["workflow", "user"]


@admin.register(SharedState)
class SharedStateAdmin(ReadOnlyAdmin):
    list_display = ["workflow", "key", "version", "updated_by", "updated_at"]
    search_fields = ["workflow__name", "workflow__namespace", "key"]
    list_select_related = ["workflow", "updated_by"]
