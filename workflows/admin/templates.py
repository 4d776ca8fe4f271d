"""The admin's "Create from template" page of the workflow list (docs/templates.md)."""

from __future__ import annotations

import json

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path

from config.errors import ApplicationError
from config.parsers import JsonLimitError, json_loads
from workflows.admin.problems import problem_line as _problem_line
from workflows.models import NAME
from workflows.triggers import library


class TemplateInstantiateForm(forms.Form):
    """A template, the new workflow's name and namespace, and the parameters as JSON."""

    template = forms.ChoiceField(choices=())
    name = forms.RegexField(NAME, max_length=100,
                            help_text="The new workflow's name.")
    namespace = forms.RegexField(NAME, max_length=100,
                                 initial="default")
    parameters = forms.CharField(
        required=False, initial="{}",
        widget=forms.Textarea(attrs={"rows": 10, "cols": 80, "style": "font-family: monospace"}),
        help_text="A JSON object of parameter values; parameters left out take their default.",
    )
    create_schedule = forms.BooleanField(
        required=False, help_text="Also create the template's suggested schedule, if any.")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["template"].choices = [
            (template.name, f"{template.title} ({template.name})")
            for template in library.template_list()
        ]

    def clean_parameters(self) -> dict:
        text = self.cleaned_data.get("parameters") or "{}"
        try:
            value = json_loads(text)
        except JsonLimitError as exc:
            raise forms.ValidationError(f"Not JSON: {exc.message}") from None
        if not isinstance(value, dict):
            raise forms.ValidationError("Give a JSON object, e.g. {\"url\": \"https://...\"}.")
        return value


class FromTemplateAdminMixin:
    """The Workflow admin's "Create from template" page (a button on the list)."""

    def get_urls(self):
        view = self.admin_site.admin_view(self.from_template_view)
        return [path("from-template/", view, name="workflow_workflow_from_template"),
                *super().get_urls()]

    def from_template_view(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied
        initial = {"template": request.GET.get("template", "")}
        form = TemplateInstantiateForm(request.POST or None, initial=initial)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                workflow = library.template_instantiate(
                    name=data["template"], parameters=data["parameters"],
                    workflow_name=data["name"], namespace=data["namespace"],
                    actor=request.user, create_schedule=data["create_schedule"],
                )
            except ApplicationError as exc:
                fields = exc.details.get("fields") or {}
                problems = exc.details.get("errors") or []
                for field, field_messages in fields.items():
                    form.add_error(None, f"{field}: {'; '.join(field_messages)}")
                for problem in problems:
                    form.add_error(None, _problem_line(problem))
                if not fields and not problems:
                    form.add_error(None, exc.message)
            else:
                self.message_user(request, f"Created {workflow} from the template "
                                           f"'{data['template']}'.", level=messages.SUCCESS)
                return redirect("admin:workflow_workflow_change", workflow.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": "Create a workflow from a template",
            "opts": self.model._meta,
            "form": form,
            "templates": [
                {**template.as_dict(),
                 "defaults_json": json.dumps(template.defaults(), indent=2)}
                for template in library.template_list()
            ],
        }
        return TemplateResponse(request, "admin/workflow/workflow/from_template.html", context)
