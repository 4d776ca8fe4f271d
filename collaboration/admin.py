"""Operators see a workflow's collaboration events, shared state and draft; they change
them through the API and the designer (whose services number the events and updates and
send them live), not here."""

from __future__ import annotations

from django.contrib import admin

from collaboration.models import CollaborationEvent, Draft, SharedState


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


@admin.register(Draft)
class DraftAdmin(ReadOnlyAdmin):
    list_display = ["workflow", "base_version", "last_seq", "compacted_seq", "updated_at"]
    search_fields = ["workflow__name", "workflow__namespace"]
    list_select_related = ["workflow"]
    exclude = ["snapshot"]
