"""Admin of workflows, versions, secrets and tags. Every change goes through services."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin
from django.utils.html import format_html

from config.admin import ReadOnlyAdminMixin
from workflows import services
from workflows.admin.access import ServiceErrorsMixin, WorkflowPermissionsMixin
from workflows.admin.problems import problem_line as _problem_line
from workflows.admin.templates import FromTemplateAdminMixin
from workflows.definitions import (
    DefinitionSyntaxError,
    definition_dump,
    definition_load,
    definition_validate,
)
from workflows.models import Secret, Tag, Workflow, WorkflowVersion


class WorkflowVersionInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = WorkflowVersion
    fields = ["number", "checksum", "author", "change_note", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    ordering = ["-number"]


class WorkflowForm(forms.ModelForm):
    """Edit the definition as YAML; saving a changed definition creates a new version."""

    definition = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 30, "cols": 100, "style": "font-family: monospace"}),
        help_text="The workflow definition in YAML or JSON. Saving a change creates a version.",
    )
    change_note = forms.CharField(max_length=500, required=False)

    class Meta:
        model = Workflow
        fields = ["active", "tags"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        version = self.instance.current_version if self.instance.pk else None
        if version is not None:
            self.fields["definition"].initial = definition_dump(version.definition, fmt="yaml")

    def clean_definition(self) -> dict:
        try:
            definition = definition_load(self.cleaned_data["definition"])
        except DefinitionSyntaxError as exc:
            raise forms.ValidationError(exc.problem.message) from None
        report = definition_validate(definition)
        if not report.ok:
            raise forms.ValidationError(
                [_problem_line(problem.as_dict()) for problem in report.errors]
            )
        return definition


@admin.register(Workflow)
class WorkflowAdmin(WorkflowPermissionsMixin, ServiceErrorsMixin, FromTemplateAdminMixin,
                    admin.ModelAdmin):
    form = WorkflowForm
    list_display = ["name", "namespace", "active", "version_number", "owner", "updated_at"]
    list_filter = ["active", "namespace", "tags", ("updated_at", admin.DateFieldListFilter)]
    search_fields = ["name", "namespace", "description"]
    list_select_related = ["current_version", "owner"]
    readonly_fields = ["id", "namespace", "name", "description", "owner", "created_at",
                       "updated_at"]
    inlines = [WorkflowVersionInline]
    filter_horizontal = ["tags"]

    @admin.display(description="Version", ordering="current_version__number")
    def version_number(self, obj: Workflow) -> int | None:
        return obj.current_version.number if obj.current_version else None

    def save_model(self, request, obj, form, change) -> None:
        tags = [tag.name for tag in form.cleaned_data.get("tags", [])]
        definition = form.cleaned_data["definition"]
        note = form.cleaned_data.get("change_note", "")
        active = form.cleaned_data.get("active", True)
        if change:
            saved, _ = services.workflow_update(
                workflow=obj, actor=request.user, definition=definition, tags=tags,
                active=active, change_note=note,
            )
        else:
            saved = services.workflow_create(
                definition=definition, actor=request.user, tags=tags, active=active,
                change_note=note,
            )
        form.instance = saved
        obj.pk = saved.pk

    def delete_model(self, request, obj) -> None:
        services.workflow_delete(workflow=obj, actor=request.user)


@admin.register(WorkflowVersion)
class WorkflowVersionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["workflow", "number", "checksum", "author", "created_at"]
    list_filter = [("created_at", admin.DateFieldListFilter)]
    search_fields = ["workflow__name", "workflow__namespace", "checksum", "change_note"]
    list_select_related = ["workflow", "author"]
    fields = ["workflow", "number", "checksum", "author", "change_note", "created_at",
              "definition_pretty"]
    readonly_fields = fields

    @admin.display(description="Definition")
    def definition_pretty(self, obj: WorkflowVersion) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.definition, indent=2))


class SecretForm(forms.ModelForm):
    """The value is write-only: the form never shows it, an empty field keeps the old one."""

    value = forms.CharField(
        widget=forms.PasswordInput(render_value=False), required=False, strip=False,
        help_text="Write-only. Leave empty to keep the current value.",
    )

    class Meta:
        model = Secret
        fields = ["name", "description"]

    def clean(self):
        cleaned = super().clean()
        if not self.instance.pk and not cleaned.get("value"):
            self.add_error("value", "A new secret needs a value.")
        return cleaned


@admin.register(Secret)
class SecretAdmin(admin.ModelAdmin):
    form = SecretForm
    list_display = ["name", "description", "created_by", "updated_at"]
    search_fields = ["name", "description"]
    readonly_fields = ["created_by", "created_at", "updated_at"]

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "name"] if obj else self.readonly_fields

    def save_model(self, request, obj, form, change) -> None:
        value = form.cleaned_data.get("value") or None
        if change:
            services.secret_update(
                secret=obj, actor=request.user, value=value,
                description=form.cleaned_data.get("description", ""),
            )
        else:
            saved = services.secret_create(
                name=form.cleaned_data["name"], value=value or "",
                description=form.cleaned_data.get("description", ""), actor=request.user,
            )
            obj.pk = saved.pk

    def delete_model(self, request, obj) -> None:
        services.secret_delete(secret=obj, actor=request.user)

    def has_module_permission(self, request) -> bool:
        return request.user.has_perm("workflow.admin")

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.has_perm("workflow.admin")

    def has_add_permission(self, request) -> bool:
        return request.user.has_perm("workflow.admin")

    def has_change_permission(self, request, obj=None) -> bool:
        return request.user.has_perm("workflow.admin")

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.has_perm("workflow.admin")


admin.site.register(Tag, search_fields=["name"])
