"""Webhook triggers API: the URL is shown once (creation, rotation); the token and the
signing secret are never returned."""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from config.openapi import READ_ERRORS, WRITE_ERRORS, error_responses
from config.parsers import whole_text
from config.serializers import InputSerializer
from workflows.apis.filters import WorkflowReferenceFilter
from workflows.models import NAME, WebhookTrigger, Workflow
from workflows.permissions import WorkflowPermission
from workflows.triggers import webhooks

HEADER_NAME = whole_text(r"^[A-Za-z0-9-]+$")


class WebhookFilter(django_filters.FilterSet):
    workflow = WorkflowReferenceFilter(field_name="workflow")

    class Meta:
        model = WebhookTrigger
        fields = ["workflow", "enabled", "name"]


class WebhookOutputSerializer(serializers.ModelSerializer):
    workflow_name = serializers.CharField(source="workflow.full_name", read_only=True)
    has_signing_secret = serializers.SerializerMethodField()

    class Meta:
        model = WebhookTrigger
        fields = ["id", "workflow", "workflow_name", "name", "enabled", "token_hint",
                  "has_signing_secret", "signature_header", "timestamp_header", "tolerance",
                  "max_body_bytes", "rate_limit", "created_at", "rotated_at", "last_used_at"]

    def get_has_signing_secret(self, trigger: WebhookTrigger) -> bool:
        return trigger.signing_secret is not None


class WebhookCreatedSerializer(WebhookOutputSerializer):
    url = serializers.CharField(
        help_text="The secret URL to POST to. Shown only now: store it; rotate if lost.")

    class Meta(WebhookOutputSerializer.Meta):
        fields = [*WebhookOutputSerializer.Meta.fields, "url"]


class WebhookRotatedSerializer(serializers.Serializer):
    url = serializers.CharField(help_text="The new secret URL; the old one no longer works.")
    token_hint = serializers.CharField()
    rotated_at = serializers.DateTimeField()


class WebhookUpdateInputSerializer(InputSerializer):
    name = serializers.RegexField(NAME, max_length=100, required=False,
                                  help_text="Lowercase letters, digits, '_', '.' and '-'.")
    enabled = serializers.BooleanField(required=False)
    signing_secret = serializers.CharField(
        write_only=True, required=False, allow_blank=True, allow_null=True, min_length=16,
        max_length=512, trim_whitespace=False, style={"input_type": "password"},
        help_text="HMAC-SHA256 key (write-only, at least 16 characters); empty or null "
                  "removes it, so requests need no signature.",
    )
    signature_header = serializers.RegexField(HEADER_NAME, max_length=100, required=False)
    timestamp_header = serializers.RegexField(
        HEADER_NAME, max_length=100, required=False, allow_blank=True,
        help_text="Blank: the signature covers the body alone, with no replay window.")
    tolerance = serializers.IntegerField(min_value=1, max_value=86400, required=False,
                                         help_text="Seconds a signed timestamp stays valid.")
    max_body_bytes = serializers.IntegerField(min_value=1, max_value=10 * 1024 * 1024,
                                              required=False)
    rate_limit = serializers.IntegerField(min_value=0, max_value=100_000, required=False,
                                          help_text="Requests per minute; 0: no limit.")


class WebhookCreateInputSerializer(WebhookUpdateInputSerializer):
    workflow = serializers.PrimaryKeyRelatedField(queryset=Workflow.objects.all())


def _url(request, token: str) -> str:
    return request.build_absolute_uri(webhooks.hook_path(token))


@extend_schema_view(
    list=extend_schema(
        responses={200: WebhookOutputSerializer, **error_responses(400, 401, 403, 429)}),
    retrieve=extend_schema(responses={200: WebhookOutputSerializer, **READ_ERRORS}),
    create=extend_schema(request=WebhookCreateInputSerializer,
                         responses={201: WebhookCreatedSerializer, **WRITE_ERRORS}),
    update=extend_schema(request=WebhookUpdateInputSerializer,
                         responses={200: WebhookOutputSerializer, **WRITE_ERRORS}),
    partial_update=extend_schema(request=WebhookUpdateInputSerializer,
                                 responses={200: WebhookOutputSerializer, **WRITE_ERRORS}),
    destroy=extend_schema(responses={204: None, **READ_ERRORS}),
)
@extend_schema(tags=["triggers"])
class WebhookViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin,
                     mixins.CreateModelMixin, mixins.UpdateModelMixin,
                     mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """Webhook triggers: secret URLs that start a workflow (docs/webhooks.md)."""

    permission_classes = [WorkflowPermission]
    serializer_class = WebhookOutputSerializer
    filterset_class = WebhookFilter
    search_fields = ["name", "workflow__name", "workflow__namespace"]
    ordering_fields = ["name", "created_at", "last_used_at"]
    ordering = ["workflow__namespace", "workflow__name", "name"]

    def get_queryset(self):
        return WebhookTrigger.objects.select_related("workflow")

    def create(self, request, *args, **kwargs):
        data = WebhookCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        trigger, token = webhooks.webhook_create(actor=request.user, **data.validated_data)
        body = {**WebhookOutputSerializer(trigger).data, "url": _url(request, token)}
        return Response(body, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        data = WebhookUpdateInputSerializer(data=request.data,
                                            partial=kwargs.pop("partial", False))
        data.is_valid(raise_exception=True)
        trigger = webhooks.webhook_update(trigger=self.get_object(), actor=request.user,
                                          **data.validated_data)
        return Response(WebhookOutputSerializer(trigger).data)

    def destroy(self, request, *args, **kwargs):
        webhooks.webhook_delete(trigger=self.get_object(), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None,
                   responses={200: WebhookRotatedSerializer, **error_responses(401, 403, 404,
                                                                               429)})
    @action(detail=True, methods=["post"], filter_backends=[])
    def rotate(self, request, pk=None):
        """A new secret URL, shown once; the old URL stops working at once."""
        trigger = self.get_object()
        token = webhooks.webhook_rotate(trigger=trigger, actor=request.user)
        return Response({"url": _url(request, token), "token_hint": trigger.token_hint,
                         "rotated_at": trigger.rotated_at})
