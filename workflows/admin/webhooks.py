"""Admin of webhook triggers: the token is shown once, in a message; only its hash is stored."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages

from config.errors import ApplicationError
from workflows.admin.access import ServiceErrorsMixin, WorkflowPermissionsMixin
from workflows.models import WebhookTrigger
from workflows.triggers import webhooks as webhook_services


class WebhookTriggerForm(forms.ModelForm):
    """The signing secret is write-only: never shown; empty keeps it (or sets none)."""

    # Not named like the model's (non-editable) field, which the admin would refuse.
    new_signing_secret = forms.CharField(
        label="Signing secret",
        widget=forms.PasswordInput(render_value=False), required=False, strip=False,
        min_length=16, max_length=512,
        help_text="Write-only HMAC-SHA256 key. Leave empty to keep the current one.",
    )
    remove_signing_secret = forms.BooleanField(
        required=False, help_text="Accept unsigned requests from now on.")

    class Meta:
        model = WebhookTrigger
        fields = ["workflow", "name", "enabled", "signature_header", "timestamp_header",
                  "tolerance", "max_body_bytes", "rate_limit"]


@admin.register(WebhookTrigger)
class WebhookTriggerAdmin(WorkflowPermissionsMixin, ServiceErrorsMixin, admin.ModelAdmin):
    form = WebhookTriggerForm
    list_display = ["workflow", "name", "enabled", "token_hint", "last_used_at"]
    list_filter = ["enabled"]
    search_fields = ["name", "workflow__name", "workflow__namespace", "token_hint"]
    list_select_related = ["workflow"]
    readonly_fields = ["token_hint", "created_at", "rotated_at", "last_used_at"]
    actions = ["rotate"]

    def _show_url(self, request, trigger: WebhookTrigger, token: str) -> None:
        url = request.build_absolute_uri(webhook_services.hook_path(token))
        self.message_user(request, f"{trigger}: the hook URL is {url} - copy it now, it is "
                                   "not shown again.", level=messages.WARNING)

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "workflow"] if obj else self.readonly_fields

    def save_model(self, request, obj, form, change) -> None:
        data = form.cleaned_data
        settings_ = {name: data[name] for name in WebhookTriggerForm.Meta.fields
                     if name != "workflow"}
        secret = None if data.get("remove_signing_secret") else data.get("new_signing_secret")
        if change:
            if data.get("remove_signing_secret") or secret:
                settings_["signing_secret"] = secret
            webhook_services.webhook_update(
                trigger=WebhookTrigger.objects.get(pk=obj.pk), actor=request.user,
                **settings_)
            return
        trigger, token = webhook_services.webhook_create(
            workflow=data["workflow"], actor=request.user, signing_secret=secret or None,
            **settings_)
        obj.pk = trigger.pk
        self._show_url(request, trigger, token)

    def delete_model(self, request, obj) -> None:
        webhook_services.webhook_delete(trigger=obj, actor=request.user)

    def delete_queryset(self, request, queryset) -> None:
        for trigger in queryset.select_related("workflow"):
            webhook_services.webhook_delete(trigger=trigger, actor=request.user)

    @admin.action(description="Rotate the URL (the old one stops working)",
                  permissions=["change"])
    def rotate(self, request, queryset) -> None:
        for trigger in queryset.select_related("workflow"):
            try:
                token = webhook_services.webhook_rotate(trigger=trigger, actor=request.user)
            except ApplicationError as exc:
                self.message_user(request, exc.message, level=messages.ERROR)
                return
            self._show_url(request, trigger, token)
