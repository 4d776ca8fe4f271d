"""Node types API: the registry's metadata (cached per process) and single-node validation."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import NotFoundError
from config.openapi import error_responses
from config.serializers import InputSerializer
from workflows.apis.workflows import ValidationReportSerializer
from workflows.caching import cached_in_process, process_cache
from workflows.definitions import node_validate
from workflows.errors import WorkflowErrorCode
from workflows.nodes.registry import default_registry
from workflows.permissions import WorkflowReadPermission

# The metadata never changes while the registry does not: cached per process, keyed by
# the registry's fingerprint (not in Redis: a deploy may change a type under the same name).
NODE_TYPES_CACHE = "node_types"
_NODE_TYPES = process_cache(NODE_TYPES_CACHE, maxsize=256)


class NodeTypeSerializer(serializers.Serializer):
    name = serializers.CharField()
    category = serializers.CharField()
    description = serializers.CharField()
    data_schema = serializers.JSONField(help_text="JSON Schema of the node's `data`.")
    output_schema = serializers.JSONField(help_text="JSON Schema of the node's output.")
    handles = serializers.JSONField(help_text="Branch handles, and whether they depend on data.")
    waits = serializers.BooleanField(help_text="The node waits without holding a worker.")
    expression_fields = serializers.ListField(
        child=serializers.CharField(),
        help_text="Paths into `data` whose strings are expressions, not templates.",
    )


class NodeTypeListApi(APIView):
    """Every registered node type, built-in and custom."""

    permission_classes = [WorkflowReadPermission]

    @extend_schema(
        tags=["nodes"],
        responses={200: NodeTypeSerializer(many=True), **error_responses(401, 403, 429)},
    )
    def get(self, request):
        registry = default_registry()
        return Response(cached_in_process(
            NODE_TYPES_CACHE, _NODE_TYPES, (registry.fingerprint, ""),
            lambda: NodeTypeSerializer(registry.describe_all(), many=True).data))


class NodeTypeDetailApi(APIView):
    """One node type's metadata."""

    permission_classes = [WorkflowReadPermission]

    @extend_schema(
        tags=["nodes"],
        parameters=[OpenApiParameter("type", OpenApiTypes.STR, OpenApiParameter.PATH)],
        responses={200: NodeTypeSerializer, **error_responses(401, 403, 404, 429)},
    )
    def get(self, request, type: str):  # noqa: A002 - the contract's path parameter
        registry = default_registry()
        node_type = registry.get(type)
        if node_type is None:
            raise NotFoundError(
                f"There is no node type '{type}'.",
                code=WorkflowErrorCode.UNKNOWN_NODE_TYPE,
                details={"known": registry.names()},
            )
        return Response(cached_in_process(
            NODE_TYPES_CACHE, _NODE_TYPES, (registry.fingerprint, type),
            lambda: NodeTypeSerializer(node_type.describe()).data))


class NodeValidateApi(APIView):
    """Validate one node's type and data, as the designer does while a node is edited."""

    permission_classes = [WorkflowReadPermission]

    class NodeValidateInputSerializer(InputSerializer):
        id = serializers.CharField(required=False)
        type = serializers.CharField()
        data = serializers.DictField(required=False, default=dict)

    @extend_schema(
        tags=["nodes"], request=NodeValidateInputSerializer,
        responses={200: ValidationReportSerializer, **error_responses(400, 401, 403, 429)},
    )
    def post(self, request):
        data = self.NodeValidateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(node_validate(data.validated_data).as_dict())
