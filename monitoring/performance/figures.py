"""The performance API's figures of the executions: over a range, as a series, per
workflow, the most failing; and the reset of the counters."""

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
from monitoring import selectors, services
from workflows import selectors as workflow_selectors
from workflows.models import Workflow
from workflows.permissions import WorkflowAdminPermission, WorkflowReadPermission

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
        others = {key: value for key, value in data.items() if key not in ("from", "to")}
        return {**others, "since": since, "until": until}


class SeriesQuerySerializer(RangeQuerySerializer):
    bucket = serializers.ChoiceField(
        choices=["auto", *selectors.BUCKETS], required=False,
        help_text="Add a series with one point per bucket; `auto` picks the finest that "
                  "keeps the range within 360 points.")

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        bucket = data.get("bucket")
        result = super().validate(data)
        if bucket == "auto":
            bucket = selectors.bucket_for(result["since"], result["until"])
        if bucket is not None:
            points = (result["until"] - result["since"]) / selectors.BUCKETS[bucket]
            if points > settings.PERFORMANCE_SERIES_POINTS_MAX:
                raise serializers.ValidationError({"bucket": [
                    f"A `{bucket}` series of this range has {int(points)} points; at most "
                    f"{settings.PERFORMANCE_SERIES_POINTS_MAX}: choose a larger bucket or a "
                    "shorter range."]})
        result["bucket"] = bucket
        return result


class DurationSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Finished executions measured.")
    avg = serializers.FloatField(allow_null=True)
    p50 = serializers.FloatField(allow_null=True)
    p95 = serializers.FloatField(allow_null=True)
    p99 = serializers.FloatField(allow_null=True)


class SeriesPointSerializer(serializers.Serializer):
    at = serializers.DateTimeField(help_text="Start of the bucket (UTC).")
    finished = serializers.IntegerField(help_text="Executions that ended in the bucket.")
    by_status = serializers.DictField(child=serializers.IntegerField(),
                                      help_text="completed, failed, cancelled.")
    duration_ms = DurationSerializer(help_text="Average; p50/p95/p99 estimated from the "
                                               "rollups' histogram.")
    throughput_per_minute = serializers.FloatField()


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


class MetricsSeriesSerializer(MetricsSerializer):
    bucket = serializers.CharField(required=False, help_text="With `bucket`: its size.")
    series = SeriesPointSerializer(many=True, required=False,
                                   help_text="With `bucket`: from the per-minute rollups, "
                                             "which lag the present by one to two minutes.")


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

    @extend_schema(parameters=[SeriesQuerySerializer],
                   responses={200: MetricsSeriesSerializer, **ERRORS})
    def get(self, request):
        """Executions created in the range (default: the last 24 hours): totals, by status,
        success and failure rates over the finished ones, run time (average, p50, p95, p99
        of the newest `PERFORMANCE_SAMPLE_MAX`), and finished executions a minute. With
        `bucket`, a series of the executions that ended in each bucket."""
        query = _query(SeriesQuerySerializer, request)
        figures = selectors.execution_metrics(since=query["since"], until=query["until"])
        if query["bucket"]:
            figures["bucket"] = query["bucket"]
            figures["series"] = selectors.execution_series(
                since=query["since"], until=query["until"], bucket=query["bucket"])
        return Response(figures)


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


class FailuresQuerySerializer(RangeQuerySerializer):
    limit = serializers.IntegerField(min_value=1, max_value=100, default=10)


class FailingWorkflowSerializer(serializers.Serializer):
    workflow_id = serializers.UUIDField()
    workflow = serializers.CharField()
    failures = serializers.IntegerField()
    last_failed_at = serializers.DateTimeField()
    last_execution = serializers.UUIDField()


class FailingNodeSerializer(FailingWorkflowSerializer):
    node_id = serializers.CharField()
    node_type = serializers.CharField()


class FailuresSerializer(serializers.Serializer):
    workflows = FailingWorkflowSerializer(many=True)
    nodes = FailingNodeSerializer(many=True)


@extend_schema(tags=["performance"])
class FailuresApi(APIView):
    permission_classes = [WorkflowReadPermission]

    @extend_schema(parameters=[FailuresQuerySerializer],
                   responses={200: FailuresSerializer, **ERRORS})
    def get(self, request):
        """The workflows with the most failed executions and the nodes with the most failed
        runs among the executions created in the range, each with its newest failed run."""
        query = _query(FailuresQuerySerializer, request)
        return Response(selectors.failures_top(since=query["since"], until=query["until"],
                                               limit=query["limit"]))


class ResetSerializer(serializers.Serializer):
    reset_at = serializers.DateTimeField()
    before = serializers.DictField(help_text="The counters as they were.")


@extend_schema(tags=["performance"])
class MetricsResetApi(APIView):
    permission_classes = [WorkflowAdminPermission]

    @extend_schema(request=None,
                   responses={200: ResetSerializer, **error_responses(401, 403, 429, 503)})
    def post(self, request):
        """Zero the counters the performance API keeps (the caches' hits and misses);
        recorded in the audit log with the counts as they were. Executions, rollups and
        Prometheus' counters are history and stay."""
        return Response(services.metrics_reset(actor=request.user))
