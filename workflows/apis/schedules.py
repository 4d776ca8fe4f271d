"""Schedules API: CRUD, pause and resume, a preview of the next fire times, the runs."""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from config.filters import pagination_parameters, query_unknown_refuse
from config.openapi import READ_ERRORS, WRITE_ERRORS, error_responses
from config.serializers import InputSerializer
from workflows import selectors
from workflows.apis.filters import WorkflowReferenceFilter
from workflows.models import CatchUpPolicy, OverlapPolicy, Schedule, ScheduleRun, Workflow
from workflows.permissions import WorkflowPermission
from workflows.triggers import schedules as services

CRON_HELP = "Five cron fields (minute hour day-of-month month weekday) or a macro (@daily)."
ZONE_HELP = "IANA time zone the cron is read in, e.g. Europe/Berlin."


class ScheduleFilter(django_filters.FilterSet):
    workflow = WorkflowReferenceFilter(field_name="workflow")

    class Meta:
        model = Schedule
        fields = ["workflow", "enabled", "name"]


class ScheduleOutputSerializer(serializers.ModelSerializer):
    workflow_name = serializers.StringRelatedField(source="workflow",
                                                   help_text="namespace/name of the workflow.")

    class Meta:
        model = Schedule
        fields = [
            "id", "workflow", "workflow_name", "name", "cron", "timezone", "enabled", "input",
            "overlap", "catch_up", "catch_up_limit", "retry_attempts", "retry_delay",
            "timeout", "next_fire_at", "last_fire_at", "source", "created_at", "updated_at",
        ]


class ScheduleInputSerializer(InputSerializer):
    workflow = serializers.PrimaryKeyRelatedField(queryset=Workflow.objects.all(),
                                                  help_text="The workflow's id.")
    name = serializers.CharField(max_length=100, required=False, default="default")
    cron = serializers.CharField(max_length=200, help_text=CRON_HELP)
    timezone = serializers.CharField(max_length=64, required=False, default="UTC",
                                     help_text=ZONE_HELP)
    enabled = serializers.BooleanField(required=False, default=True)
    input = serializers.DictField(required=False, default=dict,  # noqa: A003
                                  help_text="The input of every execution it starts.")
    overlap = serializers.ChoiceField(choices=OverlapPolicy.choices, required=False,
                                      default=OverlapPolicy.SKIP)
    catch_up = serializers.ChoiceField(choices=CatchUpPolicy.choices, required=False,
                                       default=CatchUpPolicy.LATEST)
    catch_up_limit = serializers.IntegerField(
        min_value=1, max_value=services.CATCH_UP_LIMIT_MAX, required=False, default=10)
    retry_attempts = serializers.IntegerField(
        min_value=0, max_value=services.RETRY_ATTEMPTS_MAX, required=False, default=0)
    retry_delay = serializers.IntegerField(
        min_value=0, max_value=services.RETRY_DELAY_MAX, required=False, default=60,
        help_text="Seconds before a retry.")
    timeout = serializers.IntegerField(
        min_value=1, max_value=services.TIMEOUT_MAX, required=False, allow_null=True,
        default=None, help_text="Seconds per run; null: the workflow's own timeout.")
    source = serializers.CharField(max_length=500, required=False, allow_blank=True,
                                   default="")


class PreviewQuerySerializer(serializers.Serializer):
    count = serializers.IntegerField(min_value=1, max_value=services.PREVIEW_MAX, default=10)


class CronPreviewQuerySerializer(PreviewQuerySerializer):
    cron = serializers.CharField(max_length=200, help_text=CRON_HELP)
    timezone = serializers.CharField(max_length=64, required=False, default="UTC",
                                     help_text=ZONE_HELP)


class FireTimeSerializer(serializers.Serializer):
    local = serializers.CharField(help_text="ISO 8601 in the schedule's zone, with its offset.")
    utc = serializers.CharField(help_text="ISO 8601 in UTC.")


class PreviewSerializer(serializers.Serializer):
    cron = serializers.CharField()
    timezone = serializers.CharField()
    fire_times = FireTimeSerializer(many=True)


class ScheduleRunSerializer(serializers.ModelSerializer):
    execution_status = serializers.CharField(source="execution.status", read_only=True,
                                             default=None)

    class Meta:
        model = ScheduleRun
        fields = ["id", "fire_at", "attempt", "outcome", "execution", "execution_status",
                  "reason", "created_at"]


@extend_schema_view(
    list=extend_schema(
        responses={200: ScheduleOutputSerializer, **error_responses(400, 401, 403, 429)}
    ),
    retrieve=extend_schema(responses={200: ScheduleOutputSerializer, **READ_ERRORS}),
    create=extend_schema(
        request=ScheduleInputSerializer,
        responses={201: ScheduleOutputSerializer, **WRITE_ERRORS},
    ),
    update=extend_schema(
        request=ScheduleInputSerializer,
        responses={200: ScheduleOutputSerializer, **WRITE_ERRORS},
    ),
    partial_update=extend_schema(
        request=ScheduleInputSerializer,
        responses={200: ScheduleOutputSerializer, **WRITE_ERRORS},
    ),
    destroy=extend_schema(responses={204: None, **READ_ERRORS}),
)
@extend_schema(tags=["schedules"])
class ScheduleViewSet(viewsets.ModelViewSet):
    """Cron schedules that start workflows; reading needs workflow.read, changes
    workflow.write."""

    permission_classes = [WorkflowPermission]
    serializer_class = ScheduleOutputSerializer
    filterset_class = ScheduleFilter
    search_fields = ["name", "workflow__name", "workflow__namespace"]
    ordering_fields = ["name", "next_fire_at", "last_fire_at", "created_at", "updated_at"]
    ordering = ["workflow__namespace", "workflow__name", "name"]

    def get_queryset(self):
        return selectors.schedule_list()

    def create(self, request, *args, **kwargs):
        data = ScheduleInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        schedule = services.schedule_create(actor=request.user, **data.validated_data)
        return Response(ScheduleOutputSerializer(schedule).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        schedule = self.get_object()
        data = ScheduleInputSerializer(data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        schedule = services.schedule_update(schedule=schedule, actor=request.user,
                                            **data.validated_data)
        return Response(ScheduleOutputSerializer(schedule).data)

    def destroy(self, request, *args, **kwargs):
        services.schedule_delete(schedule=self.get_object(), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={200: ScheduleOutputSerializer, **READ_ERRORS})
    @action(detail=True, methods=["post"], filter_backends=[])
    def pause(self, request, pk=None):
        """Stop firing until resumed."""
        schedule = services.schedule_pause(schedule=self.get_object(), actor=request.user)
        return Response(ScheduleOutputSerializer(schedule).data)

    @extend_schema(request=None, responses={200: ScheduleOutputSerializer, **READ_ERRORS})
    @action(detail=True, methods=["post"], filter_backends=[])
    def resume(self, request, pk=None):
        """Fire again from the next occurrence after now (times missed while paused are not
        run)."""
        schedule = services.schedule_resume(schedule=self.get_object(), actor=request.user)
        return Response(ScheduleOutputSerializer(schedule).data)

    @extend_schema(parameters=[PreviewQuerySerializer],
                   responses={200: PreviewSerializer, **error_responses(400, 401, 403, 404, 429)})
    @action(detail=True, methods=["get"], filter_backends=[])
    def preview(self, request, pk=None):
        """The next `count` fire times (1 to 100, default 10), local and UTC."""
        query = PreviewQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        schedule = self.get_object()
        times = services.schedule_preview(schedule_or_fields=schedule,
                                          count=query.validated_data["count"])
        return Response(PreviewSerializer(
            {"cron": schedule.cron, "timezone": schedule.timezone, "fire_times": times}
        ).data)

    @extend_schema(operation_id="schedules_preview_cron", parameters=[CronPreviewQuerySerializer],
                   responses={200: PreviewSerializer, **error_responses(400, 401, 403, 429)})
    @action(detail=False, methods=["get"], url_path="preview", url_name="preview-cron",
            filter_backends=[], pagination_class=None)
    def preview_cron(self, request):
        """The next `count` fire times of a cron in a zone, before a schedule is saved: a
        form shows when it would fire, and a refused cron or zone names the field."""
        query = CronPreviewQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        fields = query.validated_data
        times = services.schedule_preview(schedule_or_fields=fields, count=fields["count"])
        return Response(PreviewSerializer(
            {"cron": fields["cron"], "timezone": fields["timezone"], "fire_times": times}
        ).data)

    @extend_schema(responses={200: ScheduleRunSerializer(many=True), **READ_ERRORS})
    @action(detail=True, methods=["get"], filter_backends=[])
    def runs(self, request, pk=None):
        """What each fire time did, newest first: started (with the execution), skipped or
        failed (with the reason)."""
        query_unknown_refuse(request, pagination_parameters(self))
        runs = selectors.schedule_runs(schedule=self.get_object())
        page = self.paginate_queryset(runs)
        return self.get_paginated_response(ScheduleRunSerializer(page, many=True).data)
