"""Executions API: list, detail with node runs, logs, cancel; and starting one."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import django_filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from config.filters import UtcDateTimeFilter, pagination_parameters, query_unknown_refuse
from config.openapi import READ_ERRORS, error_responses
from config.serializers import InputSerializer
from executions import selectors, services
from executions.models import Execution, ExecutionLog, ExecutionStatus, NodeExecution, Priority
from workflows.apis.filters import WorkflowReferenceFilter
from workflows.permissions import EXECUTE, READ, MethodPermission


class ExecutionPermission(MethodPermission):
    """Reading needs workflow.read; controlling an execution needs workflow.execute."""

    safe = READ
    unsafe = EXECUTE


# The columns a list page shows (ExecutionSerializer): of its workflow, version and user
# only what names them; the rest (the version's definition alone is a JSON document decoded
# per row) is left out of its query.
LIST_COLUMNS = (
    "id", "workflow", "version", "status", "input", "output", "error", "priority",
    "trigger", "started_by", "idempotency_key", "correlation_id", "parent", "parent_node",
    "item_index", "root", "depth", "created_at", "started_at", "finished_at",
    "workflow__namespace", "workflow__name", "version__number", "started_by__username")


class ExecutionFilter(django_filters.FilterSet):
    workflow = WorkflowReferenceFilter(field_name="workflow")
    status = django_filters.MultipleChoiceFilter(choices=ExecutionStatus.choices)
    created_after = UtcDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UtcDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Execution
        fields = ["trigger", "priority"]


class NodeExecutionSerializer(serializers.ModelSerializer):
    class Meta:
        model = NodeExecution
        fields = ["node_id", "node_type", "iteration", "status", "attempt", "output", "branch",
                  "error", "started_at", "finished_at"]


class ChildrenSummarySerializer(serializers.Serializer):
    total = serializers.IntegerField(
        allow_null=True, help_text="Children the node runs in all (a Loop's item count).")
    started = serializers.IntegerField(help_text="Children its latest run has started.")
    statuses = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="Children (of every run of the node) by status.")
    url = serializers.CharField(help_text="The children, each with its node runs.")


class ParentNodeExecutionSerializer(NodeExecutionSerializer):
    children = serializers.SerializerMethodField()

    class Meta(NodeExecutionSerializer.Meta):
        fields = [*NodeExecutionSerializer.Meta.fields, "children"]

    @extend_schema_field(ChildrenSummarySerializer(allow_null=True))
    def get_children(self, row: NodeExecution) -> dict | None:
        """A Loop's iterations or a Subworkflow's run: counts and where to list them."""
        summary = self.context.get("children", {}).get(row.node_id)
        if summary is None:
            return None
        query = urlencode({"node": row.node_id})
        return {**summary, "url": f"/api/executions/{row.execution_id}/children?{query}"}


class ExecutionSerializer(serializers.ModelSerializer):
    workflow_name = serializers.CharField(source="workflow.full_name", read_only=True)
    version = serializers.IntegerField(source="version.number", read_only=True)
    started_by = serializers.CharField(source="started_by.username", default=None)
    input_from = serializers.SerializerMethodField(
        help_text="A Loop iteration stores no input of its own: the execution whose input "
        "it reads (its parent; follow `input_from` again for a nested loop). Null when "
        "`input` is the execution's own.")

    class Meta:
        model = Execution
        fields = ["id", "workflow", "workflow_name", "version", "status", "input",
                  "input_from", "output",
                  "error", "priority", "trigger", "started_by", "idempotency_key",
                  "correlation_id", "parent", "parent_node", "item_index", "root", "depth",
                  "created_at", "started_at", "finished_at"]


    @extend_schema_field(serializers.UUIDField(allow_null=True))
    def get_input_from(self, execution: Execution) -> str | None:
        owner = selectors.execution_input_owner(execution)
        return None if owner is None else str(owner)


class ExecutionDetailSerializer(ExecutionSerializer):
    nodes = ParentNodeExecutionSerializer(many=True, read_only=True)
    variables = serializers.JSONField(read_only=True)
    input = serializers.SerializerMethodField(
        help_text="The input it runs with: a Loop iteration's is the input of the execution "
        "running the loop (`input_from`).")

    @extend_schema_field(serializers.JSONField())
    def get_input(self, execution: Execution) -> Any:
        return selectors.execution_input(execution)

    class Meta(ExecutionSerializer.Meta):
        fields = [*ExecutionSerializer.Meta.fields, "variables", "nodes"]


class ChildExecutionSerializer(serializers.ModelSerializer):
    version = serializers.IntegerField(source="version.number", read_only=True)
    nodes = NodeExecutionSerializer(many=True, read_only=True)

    class Meta:
        model = Execution
        fields = ["id", "parent_node", "item_index", "item", "workflow", "version", "status",
                  "output", "error", "depth", "created_at", "started_at", "finished_at",
                  "nodes"]


class ChildrenFilter(django_filters.FilterSet):
    node = django_filters.CharFilter(field_name="parent_node")
    status = django_filters.MultipleChoiceFilter(choices=ExecutionStatus.choices)

    class Meta:
        model = Execution
        fields = []


class ExecutionLogSerializer(serializers.ModelSerializer):
    class Meta:
        model = ExecutionLog
        fields = ["id", "created_at", "event", "node_id", "level", "message", "data", "actor"]


# Executions by status: every status named, 0 for none.
StatusCountsSerializer = type("StatusCountsSerializer", (serializers.Serializer,), {
    value: serializers.IntegerField() for value in ExecutionStatus.values})


class RetryInputSerializer(InputSerializer):
    from_node = serializers.CharField(
        required=False, help_text="Also rerun this node and everything after it."
    )


class ExecuteInputSerializer(InputSerializer):
    input = serializers.DictField(required=False, default=dict)
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)
    idempotency_key = serializers.CharField(max_length=200, required=False)


@extend_schema_view(
    list=extend_schema(responses={200: ExecutionSerializer, **error_responses(400, 401, 403, 429)}),
    retrieve=extend_schema(responses={200: ExecutionDetailSerializer, **READ_ERRORS}),
    destroy=extend_schema(
        summary="Cancel an execution",
        responses={202: ExecutionDetailSerializer, **error_responses(401, 403, 404, 409, 429)},
    ),
)
@extend_schema(tags=["executions"])
class ExecutionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin,
                       mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """Runs of workflow versions, with their node runs and logs."""

    permission_classes = [ExecutionPermission]
    filterset_class = ExecutionFilter
    search_fields = ["idempotency_key", "correlation_id"]
    ordering_fields = ["created_at", "started_at", "finished_at", "status"]
    ordering = ["-created_at"]

    def get_queryset(self):
        if self.action == "retrieve":
            return selectors.execution_detail_list()
        if self.action == "list":
            return selectors.execution_list().only(*LIST_COLUMNS)
        return selectors.execution_list()

    def get_serializer_class(self):
        return ExecutionDetailSerializer if self.action == "retrieve" else ExecutionSerializer

    def retrieve(self, request, *args, **kwargs):
        return Response(self._detail(self.get_object()))

    def _detail(self, execution: Execution) -> dict:
        """The execution with its node runs, and a summary of each node's children."""
        children = selectors.execution_children_summary(execution=execution)
        return ExecutionDetailSerializer(execution, context={"children": children}).data

    def destroy(self, request, *args, **kwargs):
        return self.cancel(request, *args, **kwargs)

    @extend_schema(
        parameters=[
            OpenApiParameter("node", str, description="Only the children of this node."),
            OpenApiParameter("status", str, many=True, enum=ExecutionStatus.values,
                             description="Only children in these statuses (repeatable)."),
        ],
        responses={200: ChildExecutionSerializer(many=True),
                   **error_responses(400, 401, 403, 404, 429)},
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def children(self, request, pk=None):
        """The child executions its Loop and Subworkflow nodes started (`?node=` one node's;
        `?status=`), a Loop's iterations in item order, each with its node runs."""
        execution = self.get_object()
        query_unknown_refuse(request, [*ChildrenFilter.base_filters,
                                       *pagination_parameters(self)])
        filters = ChildrenFilter(request.query_params, queryset=Execution.objects.none())
        if not filters.is_valid():
            raise ValidationError(filters.errors)
        data = filters.form.cleaned_data
        children = selectors.execution_children(
            execution=execution, node_id=data.get("node") or None,
            status=data.get("status") or None)
        page = self.paginate_queryset(children)
        return self.get_paginated_response(ChildExecutionSerializer(page, many=True).data)

    @extend_schema(
        request=None,
        responses={202: ExecutionDetailSerializer, **error_responses(401, 403, 404, 409, 429)},
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def cancel(self, request, pk=None):
        """Cancel: waiting and queued nodes are cancelled, running ones are discarded."""
        execution = services.execution_cancel(execution=self.get_object(), actor=request.user)
        execution = selectors.execution_detail_list().get(pk=execution.pk)
        return Response(self._detail(execution), status=status.HTTP_202_ACCEPTED)

    def _control(self, request, service, **options):
        execution = service(execution=self.get_object(), actor=request.user, **options)
        execution = selectors.execution_detail_list().get(pk=execution.pk)
        return Response(self._detail(execution), status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        request=None,
        responses={202: ExecutionDetailSerializer, **error_responses(401, 403, 404, 409, 429)},
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def pause(self, request, pk=None):
        """Pause: nothing new starts; running nodes finish and their successors wait."""
        return self._control(request, services.execution_pause)

    @extend_schema(
        request=None,
        responses={202: ExecutionDetailSerializer, **error_responses(401, 403, 404, 409, 429)},
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def resume(self, request, pk=None):
        """Resume a paused or suspended execution from where it stopped."""
        return self._control(request, services.execution_resume)

    @extend_schema(
        request=RetryInputSerializer,
        responses={202: ExecutionDetailSerializer,
                   **error_responses(400, 401, 403, 404, 409, 429)},
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def retry(self, request, pk=None):
        """Rerun a failed execution: failed and never-run nodes; completed outputs stay."""
        data = RetryInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._control(request, services.execution_retry,
                             from_node=data.validated_data.get("from_node"))

    @extend_schema(
        summary="Executions per status",
        parameters=[
            OpenApiParameter("workflow", str, description="The workflow's id, or "
                             "`namespace/name`."),
            OpenApiParameter("trigger", str),
            OpenApiParameter("priority", str, enum=Priority.values),
            OpenApiParameter("created_after", OpenApiTypes.DATETIME),
            OpenApiParameter("created_before", OpenApiTypes.DATETIME),
        ],
        responses={200: StatusCountsSerializer, **error_responses(400, 401, 403, 429)},
    )
    @action(detail=False, methods=["get"], filter_backends=[], pagination_class=None)
    def counts(self, request):
        """How many executions each status holds under the list's filters (`workflow`,
        `trigger`, `priority`, `created_after`, `created_before`); `status` is left out, so
        each count is what choosing that status would list."""
        query_unknown_refuse(request, ExecutionFilter.base_filters)
        params = request.query_params.copy()
        params.pop("status", None)
        filters = ExecutionFilter(params, queryset=selectors.execution_list())
        if not filters.is_valid():
            raise ValidationError(filters.errors)
        return Response(selectors.execution_status_counts(filters.qs))

    @extend_schema(responses={200: ExecutionLogSerializer(many=True), **READ_ERRORS})
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def logs(self, request, pk=None):
        """Every state change and message of the execution, oldest first."""
        logs = selectors.execution_logs(execution=self.get_object())
        return Response(ExecutionLogSerializer(logs, many=True).data)
