"""Admin of cron schedules (through the schedule services) and their runs (read-only)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from config.admin import ReadOnlyAdminMixin
from config.errors import ApplicationError
from workflows.admin.access import ServiceErrorsMixin, WorkflowPermissionsMixin
from workflows.models import Schedule, ScheduleRun
from workflows.triggers.schedules import (
    EDITABLE,
    schedule_create,
    schedule_delete,
    schedule_pause,
    schedule_problems,
    schedule_resume,
    schedule_update,
)


class ScheduleForm(forms.ModelForm):
    """Checked by the schedule services' own rules, so the admin refuses what the API does."""

    class Meta:
        model = Schedule
        fields = ["workflow", "name", "cron", "timezone", "enabled", "input", "overlap",
                  "catch_up", "catch_up_limit", "retry_attempts", "retry_delay", "timeout",
                  "source"]

    def clean(self):
        cleaned = super().clean()
        if all(field in cleaned for field in EDITABLE):
            fields = {field: cleaned[field] for field in EDITABLE}
            fields["input"] = {} if fields["input"] is None else fields["input"]
            for field, problems in schedule_problems(fields).items():
                self.add_error(field if field in self.fields else None, problems)
        return cleaned


@admin.register(Schedule)
class ScheduleAdmin(WorkflowPermissionsMixin, ServiceErrorsMixin, admin.ModelAdmin):
    form = ScheduleForm
    list_display = ["workflow", "name", "cron", "timezone", "enabled", "next_fire_at",
                    "last_fire_at"]
    list_filter = ["enabled", "overlap", "catch_up", "timezone"]
    search_fields = ["name", "workflow__name", "workflow__namespace", "cron"]
    list_select_related = ["workflow"]
    readonly_fields = ["next_fire_at", "last_fire_at", "created_at", "updated_at", "runs_link"]
    actions = ["pause", "resume", "delete_through_services"]

    @admin.display(description="Runs")
    def runs_link(self, obj) -> str:
        if not obj.pk:
            return "-"
        url = reverse("admin:workflow_schedulerun_changelist")
        return format_html('<a href="{}?schedule__id__exact={}">{} run(s)</a>', url, obj.pk,
                           obj.runs.count())

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # it would bypass the services
        return actions

    @admin.action(description="Pause the selected schedules", permissions=["change"])
    def pause(self, request, queryset) -> None:
        for schedule in queryset:
            schedule_pause(schedule=schedule, actor=request.user)
        self.message_user(request, f"Paused {queryset.count()} schedule(s).")

    @admin.action(description="Resume the selected schedules (from now)",
                  permissions=["change"])
    def resume(self, request, queryset) -> None:
        for schedule in queryset:
            try:
                schedule_resume(schedule=schedule, actor=request.user)
            except ApplicationError as exc:
                self.message_user(request, exc.message, level=messages.ERROR)
                return
        self.message_user(request, f"Resumed {queryset.count()} schedule(s).")

    @admin.action(description="Delete the selected schedules", permissions=["delete"])
    def delete_through_services(self, request, queryset) -> None:
        count = 0
        for schedule in queryset:
            schedule_delete(schedule=schedule, actor=request.user)
            count += 1
        self.message_user(request, f"Deleted {count} schedule(s).")

    def save_model(self, request, obj, form, change) -> None:
        fields = {field: form.cleaned_data[field] for field in EDITABLE}
        if change:
            saved = schedule_update(schedule=obj, actor=request.user, **fields)
        else:
            saved = schedule_create(actor=request.user, **fields)
        form.instance = saved
        obj.pk = saved.pk

    def delete_model(self, request, obj) -> None:
        schedule_delete(schedule=obj, actor=request.user)


@admin.register(ScheduleRun)
class ScheduleRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["schedule", "fire_at", "attempt", "outcome", "execution", "reason",
                    "created_at"]
    list_filter = ["outcome", ("fire_at", admin.DateFieldListFilter)]
    search_fields = ["schedule__name", "schedule__workflow__name", "reason"]
    list_select_related = ["schedule__workflow", "execution"]
    raw_id_fields = ["execution"]
