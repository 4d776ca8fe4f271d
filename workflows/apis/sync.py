"""The last run of the workflow file sync (hot reload or sync_workflows), for operators."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from config.openapi import error_responses
from workflows.permissions import WorkflowAdminPermission
from workflows.triggers.sync import sync_status


class SyncErrorSerializer(serializers.Serializer):
    file = serializers.CharField()
    line = serializers.IntegerField(allow_null=True)
    column = serializers.IntegerField(allow_null=True)
    field = serializers.CharField(allow_null=True)
    code = serializers.CharField()
    message = serializers.CharField()


class SyncResultSerializer(serializers.Serializer):
    file = serializers.CharField()
    kind = serializers.ChoiceField(choices=["workflow", "schedule", "overlay", "directory"])
    state = serializers.ChoiceField(choices=["created", "updated", "unchanged", "error"])
    target = serializers.CharField(help_text="namespace/name, or namespace/name:schedule.")
    version = serializers.IntegerField(allow_null=True)
    errors = SyncErrorSerializer(many=True)


class SyncStatusSerializer(serializers.Serializer):
    directory = serializers.CharField()
    environment = serializers.CharField()
    dry_run = serializers.BooleanField()
    started_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField()
    ok = serializers.BooleanField()
    summary = inline_serializer("SyncSummary", {
        state: serializers.IntegerField() for state in ("created", "updated", "unchanged",
                                                        "error")
    })
    results = SyncResultSerializer(many=True)


@extend_schema(tags=["workflows"])
class SyncStatusApi(APIView):
    """The report of the last workflow file sync: every file's outcome and its errors."""

    permission_classes = [WorkflowAdminPermission]

    @extend_schema(
        operation_id="sync_status",
        responses={200: SyncStatusSerializer, 204: None, **error_responses(401, 403, 429)},
    )
    def get(self, request):
        """204 when no sync ran yet (or its report expired after 7 days)."""
        report = sync_status()
        if report is None:
            return Response(status=204)
        return Response(report)
