"""Template library API: list the ready workflows, read one, instantiate it."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from config.openapi import error_responses
from config.serializers import InputSerializer
from workflows.apis.workflows import WorkflowDetailOutputSerializer
from workflows.models import NAME
from workflows.permissions import WorkflowPermission
from workflows.triggers import library


class TemplateParameterSerializer(serializers.Serializer):
    name = serializers.CharField()
    type = serializers.JSONField(help_text="JSON Schema type: a name or a list of names.")
    description = serializers.CharField()
    required = serializers.BooleanField(help_text="True when the parameter has no default.")
    default = serializers.JSONField(allow_null=True)
    schema = serializers.JSONField(help_text="The JSON Schema a value must match.")


class TemplateSerializer(serializers.Serializer):
    name = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField()
    tags = serializers.ListField(child=serializers.CharField())
    parameters = TemplateParameterSerializer(many=True)


class TemplateDetailSerializer(TemplateSerializer):
    definition = serializers.JSONField(
        help_text="The definition with its [[ parameter ]] placeholders, without name and "
                  "namespace.")
    preview = serializers.JSONField(
        allow_null=True,
        help_text="The definition filled with the defaults (null if a parameter is required).")
    schedule = serializers.JSONField(
        allow_null=True, help_text="A suggested schedule {name, cron, timezone}, or null.")


class InstantiateInputSerializer(InputSerializer):
    name = serializers.RegexField(NAME, max_length=100,
                                  help_text="The new workflow's name.")
    namespace = serializers.RegexField(NAME, max_length=100, required=False,
                                       default="default")
    parameters = serializers.DictField(required=False, default=dict,
                                       help_text="Values of the template's parameters.")
    tags = serializers.ListField(child=serializers.CharField(max_length=50), required=False,
                                 default=list)
    create_schedule = serializers.BooleanField(
        required=False, default=False,
        help_text="Also create the template's suggested schedule, if it has one.")


def _detail(template: library.Template) -> dict:
    return {**template.as_dict(), "definition": template.definition,
            "preview": library.template_preview(template), "schedule": template.schedule}


@extend_schema(tags=["templates"])
class TemplateListApi(APIView):
    """The template library."""

    permission_classes = [WorkflowPermission]

    @extend_schema(operation_id="templates_list",
                   responses={200: TemplateSerializer(many=True),
                              **error_responses(401, 403, 429)})
    def get(self, request):
        """Every template with its parameters."""
        return Response([template.as_dict() for template in library.template_list()])


@extend_schema(tags=["templates"])
class TemplateDetailApi(APIView):
    permission_classes = [WorkflowPermission]

    @extend_schema(operation_id="templates_retrieve",
                   responses={200: TemplateDetailSerializer,
                              **error_responses(401, 403, 404, 429)})
    def get(self, request, name: str):
        """One template: metadata, parameters, its definition and a preview with defaults."""
        return Response(_detail(library.template_get(name)))


@extend_schema(tags=["templates"])
class TemplateInstantiateApi(APIView):
    permission_classes = [WorkflowPermission]

    @extend_schema(operation_id="templates_instantiate", request=InstantiateInputSerializer,
                   responses={201: WorkflowDetailOutputSerializer,
                              **error_responses(400, 401, 403, 404, 409, 415, 429)})
    def post(self, request, name: str):
        """Create a workflow from the template (validated like any definition)."""
        data = InstantiateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        workflow = library.template_instantiate(
            name=name, parameters=values["parameters"], workflow_name=values["name"],
            namespace=values["namespace"], actor=request.user, tags=values["tags"],
            create_schedule=values["create_schedule"],
        )
        return Response(WorkflowDetailOutputSerializer(workflow).data,
                        status=status.HTTP_201_CREATED)
