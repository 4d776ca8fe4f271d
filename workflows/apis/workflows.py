"""Workflows API: CRUD, versions, diff, validation, import and export."""

from __future__ import annotations

import django_filters
from django.db.models import Prefetch, prefetch_related_objects
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle, UserRateThrottle

from config.filters import UtcDateTimeFilter
from config.openapi import READ_ERRORS, WRITE_ERRORS, ErrorSerializer, error_responses
from config.parsers import LimitedJSONParser, whole_number
from config.serializers import InputSerializer
from executions import selectors as execution_selectors
from executions import services as execution_services
from executions.apis import ExecuteInputSerializer, ExecutionDetailSerializer
from executions.models import NodeExecution
from workflows import selectors, services
from workflows.apis.parsers import (
    YAML_PARSERS,
    JsonDocumentParser,
    RawDocument,
    yaml_size_check,
)
from workflows.definitions import (
    DefinitionSyntaxError,
    definition_dump,
    definition_load,
    definition_validate,
)
from workflows.errors import VersionNotFoundError
from workflows.models import Workflow, WorkflowVersion
from workflows.permissions import (
    WorkflowExecutePermission,
    WorkflowPermission,
    WorkflowReadPermission,
)

WORKFLOW_REFERENCE = OpenApiParameter(
    "id", OpenApiTypes.STR, OpenApiParameter.PATH,
    description="The workflow's id, or `namespace/name` (e.g. `demo/order-approval`).",
)
VERSION_MAX = 2**31 - 1  # a version number is a PostgreSQL integer
DEFINITION_HELP = "The workflow definition (contract section 1), as a JSON object."


class WorkflowFilter(django_filters.FilterSet):
    tag = django_filters.CharFilter(field_name="tags__name", distinct=True)
    owner = django_filters.CharFilter(field_name="owner__username")
    created_after = UtcDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UtcDateTimeFilter(field_name="created_at", lookup_expr="lt")
    updated_after = UtcDateTimeFilter(field_name="updated_at", lookup_expr="gte")

    class Meta:
        model = Workflow
        fields = ["namespace", "name", "active"]


class WorkflowOutputSerializer(serializers.ModelSerializer):
    tags = serializers.SlugRelatedField(many=True, read_only=True, slug_field="name")
    owner = serializers.CharField(source="owner.username", read_only=True, default=None)
    version = serializers.IntegerField(source="current_version.number", read_only=True)
    checksum = serializers.CharField(source="current_version.checksum", read_only=True)

    class Meta:
        model = Workflow
        fields = [
            "id", "namespace", "name", "description", "tags", "active", "owner", "version",
            "checksum", "created_at", "updated_at",
        ]


class LastRunSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.CharField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)


class WorkflowListOutputSerializer(WorkflowOutputSerializer):
    last_run = serializers.SerializerMethodField(
        help_text="The newest run a trigger started (not a loop iteration or a child), or null.")

    class Meta(WorkflowOutputSerializer.Meta):
        fields = [*WorkflowOutputSerializer.Meta.fields, "last_run"]

    @extend_schema_field(LastRunSerializer(allow_null=True))
    def get_last_run(self, workflow: Workflow) -> dict | None:
        run = self.context.get("last_runs", {}).get(workflow.pk)
        return None if run is None else LastRunSerializer(run).data


class WorkflowDetailOutputSerializer(WorkflowOutputSerializer):
    definition = serializers.JSONField(
        source="current_version.definition", read_only=True, help_text=DEFINITION_HELP
    )

    class Meta(WorkflowOutputSerializer.Meta):
        fields = [*WorkflowOutputSerializer.Meta.fields, "definition"]


class WorkflowCreateInputSerializer(InputSerializer):
    definition = serializers.DictField(help_text=DEFINITION_HELP)
    tags = serializers.ListField(
        child=serializers.CharField(max_length=50), required=False, default=list
    )
    active = serializers.BooleanField(required=False, default=True)
    change_note = serializers.CharField(
        max_length=500, required=False, allow_blank=True, default=""
    )


class WorkflowUpdateInputSerializer(InputSerializer):
    definition = serializers.DictField(help_text=DEFINITION_HELP)
    tags = serializers.ListField(child=serializers.CharField(max_length=50), required=False)
    active = serializers.BooleanField(required=False)
    change_note = serializers.CharField(max_length=500, required=False, allow_blank=True)
    base_version = serializers.IntegerField(
        required=False, min_value=1,
        help_text="The version this edit started from; a newer version answers 409.",
    )


class VersionOutputSerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author.username", read_only=True, default=None)
    co_authors = serializers.SlugRelatedField(
        slug_field="username", many=True, read_only=True,
        help_text="Everyone whose edits of the shared draft went into this version.")

    class Meta:
        model = WorkflowVersion
        fields = ["number", "checksum", "author", "co_authors", "change_note", "created_at"]


class VersionDetailOutputSerializer(VersionOutputSerializer):
    definition = serializers.JSONField(help_text=DEFINITION_HELP)

    class Meta(VersionOutputSerializer.Meta):
        fields = [*VersionOutputSerializer.Meta.fields, "definition"]


class ProblemSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    severity = serializers.ChoiceField(choices=["error", "warning"])
    node = serializers.CharField(required=False)
    edge = serializers.CharField(required=False)
    field = serializers.CharField(required=False)
    details = serializers.DictField(required=False)


class ValidationReportSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    errors = ProblemSerializer(many=True)
    warnings = ProblemSerializer(many=True)


class ImportResultSerializer(serializers.Serializer):
    workflow = WorkflowDetailOutputSerializer()
    created = serializers.BooleanField(help_text="A new workflow was created.")
    version_created = serializers.BooleanField(
        help_text="A new version was created (false when the document equals the current one)."
    )


class DiffChangeSerializer(serializers.Serializer):
    field = serializers.CharField()
    before = serializers.JSONField(allow_null=True)
    after = serializers.JSONField(allow_null=True)


class DiffItemSerializer(serializers.Serializer):
    id = serializers.CharField()
    changes = DiffChangeSerializer(many=True)


class DiffGroupSerializer(serializers.Serializer):
    added = serializers.ListField(child=serializers.CharField())
    removed = serializers.ListField(child=serializers.CharField())
    changed = DiffItemSerializer(many=True)


class DiffSerializer(serializers.Serializer):
    # "from" is a Python keyword, so it is added in get_fields
    to = serializers.IntegerField()
    nodes = DiffGroupSerializer()
    edges = DiffGroupSerializer()
    fields = DiffChangeSerializer(many=True, help_text="Top-level fields: settings, inputs, ...")

    def get_fields(self):
        return {"from": serializers.IntegerField(), **super().get_fields()}


class DiffQuerySerializer(serializers.Serializer):
    to = serializers.IntegerField(min_value=1)

    def get_fields(self):
        return {"from": serializers.IntegerField(min_value=1), **super().get_fields()}


class ExportQuerySerializer(serializers.Serializer):
    format = serializers.ChoiceField(choices=["yaml", "json"], default="yaml")
    version = serializers.IntegerField(min_value=1, required=False)


class ValidateInputSerializer(InputSerializer):
    definition = serializers.DictField(help_text=DEFINITION_HELP)


def _document(request) -> RawDocument:
    """The uploaded document: a raw YAML/JSON body or a multipart `file`."""
    data = request.data
    if isinstance(data, RawDocument):
        return data
    upload = data.get("file") if hasattr(data, "get") else None
    if upload is None:
        raise serializers.ValidationError({"file": ["Send the document as the body or as `file`."]})
    name = upload.name.lower()
    fmt = "json" if name.endswith(".json") else "yaml" if name.endswith((".yml", ".yaml")) else None
    content = upload.read()
    if fmt == "yaml":
        yaml_size_check(content)
    return RawDocument(content, fmt)


IMPORT_BODY = {
    "application/yaml": {"type": "string", "description": "A YAML workflow definition."},
    "application/json": {"type": "object", "description": DEFINITION_HELP},
    "multipart/form-data": {
        "type": "object",
        "properties": {"file": {"type": "string", "format": "binary"}},
        "required": ["file"],
    },
}


@extend_schema_view(
    list=extend_schema(
        responses={200: WorkflowListOutputSerializer, **error_responses(400, 401, 403, 429)}
    ),
    retrieve=extend_schema(responses={200: WorkflowDetailOutputSerializer, **READ_ERRORS}),
    create=extend_schema(
        request=WorkflowCreateInputSerializer,
        responses={201: WorkflowDetailOutputSerializer, **WRITE_ERRORS},
    ),
    update=extend_schema(
        request=WorkflowUpdateInputSerializer,
        responses={200: WorkflowDetailOutputSerializer, **WRITE_ERRORS},
    ),
    partial_update=extend_schema(
        request=WorkflowUpdateInputSerializer,
        responses={200: WorkflowDetailOutputSerializer, **WRITE_ERRORS},
    ),
    destroy=extend_schema(responses={204: None, **READ_ERRORS}),
)
@extend_schema_view(**{
    action: extend_schema(parameters=[WORKFLOW_REFERENCE])
    for action in ["retrieve", "update", "partial_update", "destroy", "versions", "version",
                   "diff", "export", "execute"]
})
@extend_schema(tags=["workflows"])
class WorkflowViewSet(viewsets.ModelViewSet):
    """Workflows and their immutable versions."""

    permission_classes = [WorkflowPermission]
    lookup_value_regex = selectors.WORKFLOW_REFERENCE_REGEX
    throttle_scope: str | None = None  # set to "execute" on the execute action
    filterset_class = WorkflowFilter
    search_fields = ["name", "namespace", "description"]
    ordering_fields = ["name", "namespace", "created_at", "updated_at"]
    ordering = ["namespace", "name"]

    def get_queryset(self):
        if self.action == "execute":
            # Starting a run needs the workflow and its current version, not its tags.
            return selectors.workflow_list().prefetch_related(None)
        return selectors.workflow_list()

    def get_object(self) -> Workflow:
        workflow = selectors.workflow_by_reference(
            reference=self.kwargs[self.lookup_field],
            queryset=self.filter_queryset(self.get_queryset()),
        )
        self.check_object_permissions(self.request, workflow)
        return workflow

    def get_serializer_class(self):
        if self.action == "list":
            return WorkflowListOutputSerializer
        return WorkflowDetailOutputSerializer

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        runs = execution_selectors.workflow_last_runs([workflow.pk for workflow in page])
        serializer = self.get_serializer(page, many=True, context={
            **self.get_serializer_context(), "last_runs": runs})
        return self.get_paginated_response(serializer.data)

    def create(self, request, *args, **kwargs):
        data = WorkflowCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        workflow = services.workflow_create(actor=request.user, **data.validated_data)
        return Response(
            WorkflowDetailOutputSerializer(workflow).data, status=status.HTTP_201_CREATED
        )

    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        data = WorkflowUpdateInputSerializer(data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        workflow, _ = services.workflow_update(
            workflow=self.get_object(), actor=request.user, **data.validated_data
        )
        return Response(WorkflowDetailOutputSerializer(workflow).data)

    def destroy(self, request, *args, **kwargs):
        services.workflow_delete(workflow=self.get_object(), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses={200: VersionOutputSerializer(many=True), **READ_ERRORS})
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def versions(self, request, pk=None):
        """Every version of the workflow, newest first."""
        versions = selectors.version_list(workflow=self.get_object())
        return Response(VersionOutputSerializer(versions, many=True).data)

    @extend_schema(
        parameters=[OpenApiParameter("number", OpenApiTypes.INT, OpenApiParameter.PATH)],
        responses={200: VersionDetailOutputSerializer, **READ_ERRORS},
    )
    @action(
        detail=True, methods=["get"], url_path=r"versions/(?P<number>[0-9]+)",
        url_name="version-detail", filter_backends=[],
    )
    def version(self, request, pk=None, number=None):
        """One version with its definition."""
        workflow = self.get_object()
        value = whole_number(number, maximum=VERSION_MAX)  # `int` refuses 4,300 digits
        if value > VERSION_MAX:
            raise VersionNotFoundError(f"Workflow {workflow} has no version {number[:20]}...",
                                       details={"version": f"{number[:20]}..."})
        version = selectors.version_get(workflow=workflow, number=value)
        return Response(VersionDetailOutputSerializer(version).data)

    @extend_schema(
        parameters=[
            OpenApiParameter("from", OpenApiTypes.INT, required=True),
            OpenApiParameter("to", OpenApiTypes.INT, required=True),
        ],
        responses={200: DiffSerializer, **error_responses(400, 401, 403, 404, 429)},
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def diff(self, request, pk=None):
        """Nodes and edges added, removed and changed between two versions, field by field."""
        query = DiffQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        result = selectors.version_diff(
            workflow=self.get_object(),
            from_number=query.validated_data["from"],
            to_number=query.validated_data["to"],
        )
        return Response(DiffSerializer(result).data)

    @extend_schema(
        parameters=[
            OpenApiParameter("format", OpenApiTypes.STR, enum=["yaml", "json"]),
            OpenApiParameter("version", OpenApiTypes.INT, description="Default: current."),
        ],
        responses={
            (200, "application/yaml"): OpenApiResponse(OpenApiTypes.STR, description="YAML."),
            (200, "application/json"): OpenApiResponse(OpenApiTypes.OBJECT, description="JSON."),
            **error_responses(400, 401, 403, 404, 429),
        },
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def export(self, request, pk=None):
        """The definition as a YAML or JSON file, ready to import elsewhere."""
        query = ExportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        workflow = self.get_object()
        number = query.validated_data.get("version", workflow.current_version.number)
        version = selectors.version_get(workflow=workflow, number=number)
        fmt = query.validated_data["format"]
        response = HttpResponse(
            definition_dump(version.definition, fmt=fmt),
            content_type="application/yaml" if fmt == "yaml" else "application/json",
        )
        filename = f"{workflow.namespace}.{workflow.name}.v{version.number}.{fmt}"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response

    @extend_schema(
        request=IMPORT_BODY,
        parameters=[OpenApiParameter("change_note", OpenApiTypes.STR)],
        responses={200: ImportResultSerializer, 201: ImportResultSerializer, **WRITE_ERRORS},
    )
    @action(
        detail=False, methods=["post"], url_path="import", url_name="import",
        parser_classes=[JsonDocumentParser, *YAML_PARSERS, MultiPartParser],
    )
    def import_(self, request):
        """Create or update a workflow from a YAML or JSON document (a new version if changed)."""
        document = _document(request)
        workflow, created, version_created = services.workflow_import(
            document=document.content, fmt=document.fmt, actor=request.user,
            change_note=request.query_params.get("change_note", "")[:500],
        )
        body = {"workflow": workflow, "created": created, "version_created": version_created}
        return Response(
            ImportResultSerializer(body).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    @extend_schema(
        request=ExecuteInputSerializer,
        responses={
            202: ExecutionDetailSerializer,
            **error_responses(400, 401, 403, 404, 409, 413, 415, 429, 503),
            # `{id}` that is not an id reads as `namespace/name`: `sales/execute` is the
            # workflow named `execute`, which takes no POST.
            405: OpenApiResponse(
                response=ErrorSerializer,
                description="`{id}/execute` with an `{id}` that is not a workflow id names "
                            "the workflow `execute` of the namespace `{id}`, which takes no "
                            "POST: use the id or `namespace/name/execute`.",
            ),
        },
    )
    @action(
        detail=True, methods=["post"], filter_backends=[],
        permission_classes=[WorkflowExecutePermission],
        throttle_classes=[UserRateThrottle, ScopedRateThrottle], throttle_scope="execute",
    )
    def execute(self, request, pk=None):
        """Start the current version; the same idempotency key returns the same execution."""
        data = ExecuteInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        execution, created = execution_services.execution_start(
            workflow=self.get_object(), actor=request.user,
            correlation_id=getattr(request, "correlation_id", ""), **data.validated_data,
        )
        if created:
            # The service returns the row as it committed it, with its workflow, version
            # and user: only the node rows are read back.
            prefetch_related_objects(
                [execution], Prefetch("nodes", queryset=NodeExecution.objects.order_by("id")))
        else:
            execution = execution_selectors.execution_detail_list().get(pk=execution.pk)
        return Response(ExecutionDetailSerializer(execution).data,
                        status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        request={
            "application/json": ValidateInputSerializer,
            "application/yaml": {"type": "string", "description": "A YAML workflow definition."},
        },
        responses={
            200: ValidationReportSerializer, **error_responses(400, 401, 403, 413, 415, 429)
        },
    )
    @action(
        detail=False, methods=["post"], permission_classes=[WorkflowReadPermission],
        parser_classes=[LimitedJSONParser, *YAML_PARSERS],
    )
    def validate(self, request):
        """Validate a definition without saving it: every problem at once, with node and edge."""
        if isinstance(request.data, RawDocument):
            try:
                definition = definition_load(request.data.content, fmt=request.data.fmt)
            except DefinitionSyntaxError as exc:
                problem = exc.problem.as_dict()
                return Response({"valid": False, "errors": [problem], "warnings": []})
        else:
            data = ValidateInputSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            definition = data.validated_data["definition"]
        return Response(definition_validate(definition).as_dict())
