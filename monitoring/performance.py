"""The performance API (`/api/performance/...`): how many executions ran, how they ended,
how long they took, over a time range. Needs `workflow.read`."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from config.openapi import error_responses
from config.serializers import InputSerializer
from monitoring import selectors
from workflows import selectors as workflow_selectors
from workflows.models import Workflow
from workflows.permissions import WorkflowReadPermission

DEFAULT_RANGE = timedelta(hours=24)
ERRORS = error_responses(400, 401, 403, 404, 429)


class RangeQuerySerializer(InputSerializer):
    # `from` is a keyword: the field is named in `get_fields`.
    to = serializers.DateTimeField(required=False, help_text="End of the range (excluded); "
                                   "default now.")

    def get_fields(self) -> dict[str, Any]:
        fields = super().get_fields()
        fields["from"] = serializers.DateTimeField(
            required=False, help_text="Start of the range; default 24 hours before `to`.")
        return fields

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        try:
            until = data.get("to", timezone.now()).astimezone(UTC)
            since = data.get("from", until - DEFAULT_RANGE).astimezone(UTC)
        except OverflowError:
            raise serializers.ValidationError(
                {"from": ["Enter a date-time within the years 1 to 9999 in UTC."]}) from None
        if since >= until:
            raise serializers.ValidationError({"from": ["Must be before `to`."]})
        if until - since > timedelta(days=settings.PERFORMANCE_RANGE_MAX_DAYS):
            raise serializers.ValidationError(
                {"from": [f"The range may be at most {settings.PERFORMANCE_RANGE_MAX_DAYS} "
                          "days long."]})
        return {"since": since, "until": until}


class DurationSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Finished executions measured.")
    avg = serializers.FloatField(allow_null=True)
    p50 = serializers.FloatField(allow_null=True)
    p95 = serializers.FloatField(allow_null=True)
    p99 = serializers.FloatField(allow_null=True)


class MetricsSerializer(serializers.Serializer):
    total = serializers.IntegerField(help_text="Executions created in the range.")
    by_status = serializers.DictField(child=serializers.IntegerField())
    finished = serializers.IntegerField()
    success_rate = serializers.FloatField(allow_null=True,
                                          help_text="Completed / finished.")
    failure_rate = serializers.FloatField(allow_null=True, help_text="Failed / finished.")
    duration_ms = DurationSerializer(help_text="Started -> finished, in milliseconds.")
    throughput_per_minute = serializers.FloatField(help_text="Finished a minute.")

    def get_fields(self) -> dict[str, Any]:
        fields = super().get_fields()
        fields["from"] = serializers.DateTimeField()
        fields["to"] = serializers.DateTimeField()
        return fields


class RecentQuerySerializer(InputSerializer):
    count = serializers.IntegerField(min_value=1, max_value=settings.PERFORMANCE_RECENT_MAX,
                                     default=20)


class RecentExecutionSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    workflow = serializers.CharField(source="workflow.full_name")
    workflow_id = serializers.UUIDField()
    status = serializers.CharField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    duration_ms = serializers.SerializerMethodField()

    def get_duration_ms(self, execution: Any) -> float | None:
        if execution.started_at is None or execution.finished_at is None:
            return None
        return round((execution.finished_at - execution.started_at).total_seconds() * 1000, 1)


class RecentSerializer(serializers.Serializer):
    executions = RecentExecutionSerializer(many=True)


class AverageTimeSerializer(serializers.Serializer):
    workflow = serializers.CharField()
    duration_ms = DurationSerializer()


class CountQuerySerializer(InputSerializer):
    date = serializers.DateField(required=False, help_text="A day in UTC; default today.")


class CountSerializer(serializers.Serializer):
    workflow = serializers.CharField()
    date = serializers.DateField()
    total = serializers.IntegerField()
    by_status = serializers.DictField(child=serializers.IntegerField())


WORKFLOW_PARAMETER = OpenApiParameter("workflow", str, OpenApiParameter.PATH,
                                      description="The workflow's id or `namespace/name`.")


def _query(serializer_class: type[InputSerializer], request: Any) -> dict[str, Any]:
    query = serializer_class(data=request.query_params.dict())
    query.is_valid(raise_exception=True)
    return query.validated_data


def _workflow(reference: str) -> Workflow:
    return workflow_selectors.workflow_by_reference(reference=reference,
                                                    queryset=Workflow.objects.all())


@extend_schema(tags=["performance"])
class MetricsApi(APIView):
    permission_classes = [WorkflowReadPermission]

    @extend_schema(parameters=[RangeQuerySerializer],
                   responses={200: MetricsSerializer, **ERRORS})
    def get(self, request):
        """Executions created in the range (default: the last 24 hours): totals, by status,
        success and failure rates over the finished ones, run time (average, p50, p95, p99
        of the newest `PERFORMANCE_SAMPLE_MAX`), and finished executions a minute."""
        query = _query(RangeQuerySerializer, request)
        return Response(selectors.execution_metrics(since=query["since"],
                                                     until=query["until"]))


@extend_schema(tags=["performance"])
class RecentExecutionsApi(APIView):
    permission_classes = [WorkflowReadPermission]

    @extend_schema(parameters=[RecentQuerySerializer],
                   responses={200: RecentSerializer, **ERRORS})
    def get(self, request):
        """The newest executions (`count`, default 20, at most `PERFORMANCE_RECENT_MAX`),
        newest first, with their run times."""
        query = _query(RecentQuerySerializer, request)
        executions = selectors.executions_recent(count=query["count"])
        return Response({"executions": RecentExecutionSerializer(executions, many=True).data})


@extend_schema(tags=["performance"], parameters=[WORKFLOW_PARAMETER])
class AverageTimeApi(APIView):
    permission_classes = [WorkflowReadPermission]

    @extend_schema(parameters=[RangeQuerySerializer],
                   responses={200: AverageTimeSerializer, **ERRORS})
    def get(self, request, workflow):
        """One workflow's run times over the range (default: the last 24 hours)."""
        workflow_ = _workflow(workflow)
        query = _query(RangeQuerySerializer, request)
        figures = selectors.execution_metrics(since=query["since"], until=query["until"],
                                              workflow=workflow_)
        return Response({"workflow": workflow_.full_name,
                         "duration_ms": figures["duration_ms"]})


@extend_schema(tags=["performance"], parameters=[WORKFLOW_PARAMETER])
class CountApi(APIView):
    permission_classes = [WorkflowReadPermission]

    @extend_schema(parameters=[CountQuerySerializer], responses={200: CountSerializer, **ERRORS})
    def get(self, request, workflow):
        """How many executions of one workflow were created on a day (UTC), by status."""
        workflow_ = _workflow(workflow)
        day: date = _query(CountQuerySerializer, request).get("date") or timezone.now().date()
        since = datetime.combine(day, time.min, tzinfo=UTC)
        until = since + timedelta(days=1) if day < date.max else datetime.max.replace(tzinfo=UTC)
        by_status = selectors.executions_count(workflow=workflow_, since=since, until=until)
        return Response({"workflow": workflow_.full_name, "date": day,
                         "total": sum(by_status.values()), "by_status": by_status})
