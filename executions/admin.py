"""Operators' admin for executions: node runs with their outputs, the log, control actions,
and answering the waits that need a person. Times are ISO 8601 to the microsecond on every
admin page (config/formats)."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from config.admin import ReadOnlyAdminMixin
from config.errors import ApplicationError
from executions import selectors, services
from executions.models import (
    Bookmark,
    BookmarkKind,
    BookmarkStatus,
    Execution,
    ExecutionLog,
    NodeExecution,
    OutboxEvent,
)
from executions.services import waits
from workflows.permissions import READ

LOG_ROWS = 200  # log entries on an execution's page; the whole log is one link away


def pretty_json(value: Any) -> str:
    if value is None:
        return "-"
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, ensure_ascii=False,
                                                   sort_keys=True, default=str))


class NodeExecutionInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = NodeExecution
    fields = ["node_id", "node_type", "iteration", "status", "attempt", "branch", "started_at",
              "finished_at", "duration", "node_output", "node_error"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["id"]

    @admin.display(description="duration")
    def duration(self, obj: NodeExecution) -> str:
        if not (obj.started_at and obj.finished_at):
            return "-"
        return f"{(obj.finished_at - obj.started_at).total_seconds() * 1000:.0f} ms"

    @admin.display(description="output")
    def node_output(self, obj: NodeExecution) -> str:
        return pretty_json(obj.output)

    @admin.display(description="error")
    def node_error(self, obj: NodeExecution) -> str:
        return pretty_json(obj.error)


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


_EXECUTION_JSON = ["input", "output", "error", "variables", "item", "compensation"]


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
    exclude = _EXECUTION_JSON  # shown below, indented
    readonly_fields = [
        *(field.name for field in Execution._meta.fields if field.name not in _EXECUTION_JSON),
        "input_json", "output_json", "error_json", "variables_json", "waits", "log",
    ]

    @admin.display(description="input")
    def input_json(self, obj: Execution) -> str:
        owner = selectors.execution_input_owner(obj)
        shown = pretty_json(selectors.execution_input(obj))
        if owner is None:
            return shown
        return format_html("(a loop iteration: the input of execution {}){}", owner, shown)

    @admin.display(description="output")
    def output_json(self, obj: Execution) -> str:
        return pretty_json(obj.output)

    @admin.display(description="error")
    def error_json(self, obj: Execution) -> str:
        return pretty_json(obj.error)

    @admin.display(description="variables")
    def variables_json(self, obj: Execution) -> str:
        return pretty_json(obj.variables)

    @admin.display(description="open waits")
    def waits(self, obj: Execution) -> str:
        bookmarks = obj.bookmarks.filter(status=BookmarkStatus.OPEN).order_by("id")
        if not bookmarks:
            return "-"
        return format_html_join("", '<p>{} <a href="{}">{}</a> {}</p>', (
            (bookmark.node_id, reverse("admin:executions_bookmark_change", args=[bookmark.pk]),
             "Answer" if bookmark.kind == BookmarkKind.USER_ACTION else "Open",
             f"({bookmark.kind}, {bookmark.assignee or 'no assignee'})")
            for bookmark in bookmarks))

    @admin.display(description="log")
    def log(self, obj: Execution) -> str:
        entries = list(selectors.execution_logs(execution=obj)[:LOG_ROWS])
        if not entries:
            return "-"
        rows = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
                                "<td>{}</td><td>{}</td></tr>", (
            (entry.created_at.isoformat(), entry.level, entry.event, entry.node_id or "-",
             entry.message, json.dumps(entry.data, default=str) if entry.data else "")
            for entry in entries))
        everything = reverse("admin:executions_executionlog_changelist")
        return format_html(
            '<table><thead><tr><th>time (UTC)</th><th>level</th><th>event</th><th>node</th>'
            "<th>message</th><th>data</th></tr></thead><tbody>{}</tbody></table>"
            '<p><a href="{}?execution__id__exact={}">The whole log</a> (the first {} entries '
            "are above)</p>", rows, everything, obj.pk, LOG_ROWS)

    @admin.display(description="Version", ordering="version__number")
    def version_number(self, obj: Execution) -> int:
        return obj.version.number

    def has_execute_permission(self, request) -> bool:
        return request.user.has_perm("workflow.execute")


class AnswerForm(forms.Form):
    """A person's answer to a UserAction: one of its outcomes, and the form's data."""

    outcome = forms.ChoiceField(widget=forms.RadioSelect)
    payload = forms.JSONField(
        required=False, initial=dict, label="Response",
        widget=forms.Textarea(attrs={"rows": 8, "cols": 80}),
        help_text="The form's data as a JSON object; checked against the form's schema.",
    )

    def __init__(self, *args: Any, outcomes: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["outcome"].choices = [(outcome, outcome) for outcome in outcomes]
        if len(outcomes) == 1:
            self.fields["outcome"].initial = outcomes[0]

    def clean_payload(self) -> dict[str, Any]:
        payload = self.cleaned_data.get("payload")
        if payload in (None, ""):
            return {}
        if not isinstance(payload, dict):
            raise forms.ValidationError("The response is a JSON object.")
        return payload


@admin.register(Bookmark)
class BookmarkAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Waits. A reader of workflows sees every wait; any other staff user the waits assigned
    to them or their groups, which they may answer here (as over the API)."""

    list_display = ["execution", "node_id", "kind", "status", "assignee", "due_at", "created_at",
                    "answer"]
    list_filter = ["kind", "status"]
    search_fields = ["node_id", "assignee", "key"]
    # The token is a webhook wait's credential; the request is shown without a Loop's items.
    exclude = ["token", "request"]
    readonly_fields = [*(f.name for f in Bookmark._meta.fields
                         if f.name not in ("token", "request")), "request_json", "answer"]

    @admin.display(description="request")
    def request_json(self, obj: Bookmark) -> str:
        return pretty_json(selectors.bookmark_request_shown(obj.request))

    def get_queryset(self, request: HttpRequest):
        # A Loop's request holds its items: read only by the pages that show one wait.
        bookmarks = super().get_queryset(request).select_related(
            "execution__workflow").defer("request")
        if request.user.has_perm(READ):
            return bookmarks
        return bookmarks & selectors.bookmark_list(user=request.user, mine=True)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.is_staff

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        if request.user.has_perm(READ):
            return True
        return request.user.is_staff and (
            obj is None or selectors.bookmark_assigned_to(bookmark=obj, user=request.user))

    @admin.display(description="answer")
    def answer(self, obj: Bookmark) -> str:
        if obj.kind != BookmarkKind.USER_ACTION or obj.status != BookmarkStatus.OPEN:
            return "-"
        url = reverse("admin:executions_bookmark_answer", args=[obj.pk])
        return format_html('<a href="{}">Answer</a>', url)

    def get_urls(self):
        answer = self.admin_site.admin_view(self.answer_view)
        return [path("<int:object_id>/answer/", answer, name="executions_bookmark_answer"),
                *super().get_urls()]

    def answer_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """Approve, reject or whatever the outcomes are: through `bookmark_resume`, as
        `POST /api/bookmarks/{id}/resume` does, with the same permission."""
        bookmark = get_object_or_404(self.get_queryset(request), pk=object_id)
        if not selectors.bookmark_may_answer(bookmark=bookmark, user=request.user):
            raise PermissionDenied
        change_url = reverse("admin:executions_bookmark_change", args=[bookmark.pk])
        if bookmark.kind != BookmarkKind.USER_ACTION or bookmark.status != BookmarkStatus.OPEN:
            self.message_user(request, f"This wait is {bookmark.status}; there is nothing to "
                              "answer.", level=messages.WARNING)
            return HttpResponseRedirect(change_url)
        asked = bookmark.request or {}
        form = AnswerForm(request.POST or None, outcomes=asked.get("outcomes") or ["done"])
        if request.method == "POST" and form.is_valid():
            try:
                waits.bookmark_resume(
                    bookmark=bookmark, by=request.user.get_username(),
                    payload={"outcome": form.cleaned_data["outcome"],
                             "payload": form.cleaned_data["payload"]})
            except ApplicationError as exc:
                fields = exc.details.get("fields", {}) if isinstance(exc.details, dict) else {}
                form.add_error("payload" if "payload" in fields else None, exc.message)
            else:
                self.message_user(request, f"Answered '{form.cleaned_data['outcome']}' for "
                                  f"{bookmark.node_id}.")
                return HttpResponseRedirect(
                    reverse("admin:executions_execution_change", args=[bookmark.execution_id]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Answer {bookmark.node_id}",
            "bookmark": bookmark,
            "prompt": asked.get("prompt", ""),
            "schema": json.dumps(asked["form"], indent=2) if asked.get("form") else "",
            "form": form,
            "change_url": change_url,
        }
        return TemplateResponse(request, "admin/executions/bookmark/answer.html", context)


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
