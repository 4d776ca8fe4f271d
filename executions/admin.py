"""Operators' admin for executions: node runs inline, filters, and control actions."""

from __future__ import annotations

from django.contrib import admin, messages

from config.admin import ReadOnlyAdminMixin
from config.errors import ApplicationError
from executions import services
from executions.models import Bookmark, Execution, ExecutionLog, NodeExecution, OutboxEvent


class NodeExecutionInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = NodeExecution
    fields = ["node_id", "node_type", "iteration", "status", "attempt", "branch", "error",
              "started_at", "finished_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["id"]


def _control(modeladmin, request, queryset, service, verb: str) -> None:
    done = 0
    for execution in queryset:
        try:
            service(execution=execution, actor=request.user)
            done += 1
        except ApplicationError as exc:
            modeladmin.message_user(request, f"{execution}: {exc.message}", level=messages.WARNING)
    if done:
        modeladmin.message_user(request, f"{verb} {done} execution(s).")


@admin.action(description="Cancel the selected executions", permissions=["execute"])
def cancel(modeladmin, request, queryset) -> None:
    _control(modeladmin, request, queryset, services.execution_cancel, "Cancelled")


@admin.action(description="Retry the selected failed executions", permissions=["execute"])
def retry(modeladmin, request, queryset) -> None:
    _control(modeladmin, request, queryset, services.execution_retry, "Retried")


@admin.action(description="Pause the selected executions", permissions=["execute"])
def pause(modeladmin, request, queryset) -> None:
    _control(modeladmin, request, queryset, services.execution_pause, "Paused")


@admin.action(description="Resume the selected paused executions", permissions=["execute"])
def resume(modeladmin, request, queryset) -> None:
    _control(modeladmin, request, queryset, services.execution_resume, "Resumed")


@admin.register(Execution)
class ExecutionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "workflow", "version_number", "status", "trigger", "started_by",
                    "created_at", "finished_at"]
    list_filter = ["status", "trigger", "workflow", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["id", "idempotency_key", "correlation_id", "workflow__name"]
    list_select_related = ["workflow", "version", "started_by"]
    date_hierarchy = "created_at"
    inlines = [NodeExecutionInline]
    actions = [cancel, retry, pause, resume]
    readonly_fields = [field.name for field in Execution._meta.fields]

    @admin.display(description="Version", ordering="version__number")
    def version_number(self, obj: Execution) -> int:
        return obj.version.number

    def has_execute_permission(self, request) -> bool:
        return request.user.has_perm("workflow.execute")


@admin.register(Bookmark)
class BookmarkAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["execution", "node_id", "kind", "status", "assignee", "due_at", "created_at"]
    list_filter = ["kind", "status"]
    search_fields = ["node_id", "assignee", "key"]
    exclude = ["token"]  # a webhook wait's credential
    readonly_fields = [f.name for f in Bookmark._meta.fields if f.name != "token"]


@admin.register(ExecutionLog)
class ExecutionLogAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "execution", "event", "node_id", "level", "message"]
    list_filter = ["event", "level"]
    search_fields = ["execution__id", "node_id", "message"]
    readonly_fields = [f.name for f in ExecutionLog._meta.fields]


class OutboxStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("pending", "Pending"), ("published", "Published"), ("dead", "Dead")]

    def queryset(self, request, queryset):
        if self.value() == "pending":
            return queryset.filter(published_at__isnull=True, dead=False)
        if self.value() == "published":
            return queryset.filter(published_at__isnull=False)
        if self.value() == "dead":
            return queryset.filter(dead=True)
        return queryset


@admin.register(OutboxEvent)
class OutboxEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Execution events on their way out; dead ones keep their last error."""

    list_display = ["id", "created_at", "execution", "event", "state", "attempts",
                    "next_attempt_at", "published_at", "last_error"]
    list_filter = [OutboxStateFilter, "event"]
    search_fields = ["execution__id", "event", "last_error"]
    readonly_fields = [f.name for f in OutboxEvent._meta.fields]
