"""Secrets API: names and descriptions are readable, values are write-only."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response

from config.openapi import READ_ERRORS, WRITE_ERRORS, error_responses
from config.serializers import InputSerializer
from workflows import selectors, services
from workflows.models import SECRET_NAME, Secret
from workflows.permissions import SecretPermission


class SecretOutputSerializer(serializers.ModelSerializer):
    created_by = serializers.CharField(source="created_by.username", read_only=True, default=None)

    class Meta:
        model = Secret
        fields = ["name", "description", "created_by", "created_at", "updated_at"]


class SecretCreateInputSerializer(InputSerializer):
    name = serializers.RegexField(SECRET_NAME, max_length=100)
    value = serializers.CharField(
        write_only=True, trim_whitespace=False, max_length=65536, style={"input_type": "password"}
    )
    description = serializers.CharField(
        max_length=500, required=False, allow_blank=True, default=""
    )


class SecretUpdateInputSerializer(InputSerializer):
    value = serializers.CharField(
        write_only=True, trim_whitespace=False, max_length=65536, required=False,
        style={"input_type": "password"},
    )
    description = serializers.CharField(max_length=500, required=False, allow_blank=True)


@extend_schema_view(
    list=extend_schema(
        responses={200: SecretOutputSerializer, **error_responses(400, 401, 403, 429)}
    ),
    retrieve=extend_schema(responses={200: SecretOutputSerializer, **READ_ERRORS}),
    create=extend_schema(
        request=SecretCreateInputSerializer, responses={201: SecretOutputSerializer, **WRITE_ERRORS}
    ),
    update=extend_schema(
        request=SecretUpdateInputSerializer, responses={200: SecretOutputSerializer, **WRITE_ERRORS}
    ),
    partial_update=extend_schema(
        request=SecretUpdateInputSerializer, responses={200: SecretOutputSerializer, **WRITE_ERRORS}
    ),
    destroy=extend_schema(responses={204: None, **READ_ERRORS}),
)
@extend_schema(tags=["secrets"])
class SecretViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Named credentials for nodes (`secrets.<name>` in templates). Values never leave."""

    permission_classes = [SecretPermission]
    serializer_class = SecretOutputSerializer
    lookup_field = "name"
    search_fields = ["name", "description"]
    ordering_fields = ["name", "created_at", "updated_at"]
    ordering = ["name"]
    filterset_fields = ["created_by__username"]

    def get_queryset(self):
        return selectors.secret_list()

    def create(self, request, *args, **kwargs):
        data = SecretCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        secret = services.secret_create(actor=request.user, **data.validated_data)
        return Response(SecretOutputSerializer(secret).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        data = SecretUpdateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        secret = services.secret_update(
            secret=self.get_object(), actor=request.user, **data.validated_data
        )
        return Response(SecretOutputSerializer(secret).data)

    def destroy(self, request, *args, **kwargs):
        services.secret_delete(secret=self.get_object(), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
