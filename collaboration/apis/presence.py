"""Presence through the API: join, leave, who is here, one's own presence, presence on
many workflows, and whether a user is online and where."""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from collaboration import selectors, services
from collaboration.apis.common import (
    WORKFLOW_PARAMETER,
    PresenceInputSerializer,
    WorkflowCollaborationApi,
    user_get,
)
from collaboration.models import PresenceStatus
from config.errors import PermissionDeniedError
from config.openapi import READ_ERRORS, WRITE_ERRORS, error_responses
from config.serializers import InputSerializer
from workflows.models import Workflow
from workflows.permissions import WorkflowReadPermission


class PresenceSerializer(serializers.Serializer):
    connection = serializers.CharField(help_text="The socket's id (`api-<user>` through "
                                       "the API).")
    user = serializers.IntegerField()
    username = serializers.CharField()
    status = serializers.ChoiceField(choices=PresenceStatus.choices)
    activity = serializers.CharField()
    selection = serializers.ListField(child=serializers.CharField())
    via = serializers.ChoiceField(choices=["socket", "api"])


class UsersSerializer(serializers.Serializer):
    users = PresenceSerializer(many=True)




class OnlineSerializer(serializers.Serializer):
    user = serializers.CharField()
    online = serializers.BooleanField(help_text="Present on at least one workflow now.")
    workflows = serializers.IntegerField(help_text="How many workflows they are in now.")


class WorkflowRefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField(help_text="`namespace/name`.")


class UserWorkflowsSerializer(serializers.Serializer):
    user = serializers.CharField()
    workflows = WorkflowRefSerializer(many=True)




@extend_schema(tags=["collaboration"], parameters=[WORKFLOW_PARAMETER])
class JoinApi(WorkflowCollaborationApi):
    permission_classes = [WorkflowReadPermission]

    @extend_schema(request=PresenceInputSerializer,
                   responses={200: UsersSerializer, **WRITE_ERRORS})
    def post(self, request, workflow):
        """Be present on the workflow through the API (for clients without the websocket):
        until `leave`, or `COLLABORATION_PRESENCE_TTL` seconds after the last `join` or
        presence update. Answers who is present."""
        return Response({"users": self.join(request)})


@extend_schema(tags=["collaboration"], parameters=[WORKFLOW_PARAMETER])
class LeaveApi(WorkflowCollaborationApi):
    permission_classes = [WorkflowReadPermission]

    @extend_schema(request=None, responses={204: None, **READ_ERRORS})
    def post(self, request, workflow):
        """End one's presence through the API (one's sockets stay)."""
        services.presence_leave_api(workflow=self.workflow(), user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["collaboration"], parameters=[WORKFLOW_PARAMETER])
class UsersApi(WorkflowCollaborationApi):
    @extend_schema(responses={200: UsersSerializer, **READ_ERRORS})
    def get(self, request, workflow):
        """Who is present on the workflow now, over sockets and the API, oldest first."""
        workflow_ = self.workflow()
        return Response({"users": async_to_sync(_users)(workflow_.pk)})


async def _users(workflow_id: Any) -> list[dict[str, Any]]:
    client = selectors.presence_client()
    try:
        return await selectors.presence_list(client=client, workflow_id=workflow_id)
    finally:
        await client.aclose()


@extend_schema(tags=["collaboration"], parameters=[
    WORKFLOW_PARAMETER,
    OpenApiParameter("user", str, OpenApiParameter.PATH, description="Username or id.")])
class UserPresenceApi(WorkflowCollaborationApi):
    permission_classes = [WorkflowReadPermission]

    @extend_schema(request=PresenceInputSerializer,
                   responses={200: UsersSerializer, **WRITE_ERRORS})
    def put(self, request, workflow, user):
        """Set one's own presence through the API (status, activity, selection); it joins
        when one was not present. Another user's presence is theirs to set: 403."""
        target = user_get(user)
        if target.pk != request.user.pk:
            raise PermissionDeniedError("One sets one's own presence only.",
                                        details={"user": user})
        return Response({"users": self.join(request)})




class PresenceQuerySerializer(InputSerializer):
    workflow = serializers.ListField(
        child=serializers.UUIDField(), min_length=1,
        max_length=settings.COLLABORATION_PRESENCE_MANY_MAX,
        help_text="A workflow's id; repeat it for each workflow.")


class PresenceManySerializer(serializers.Serializer):
    presence = serializers.DictField(child=PresenceSerializer(many=True),
                                     help_text="Who is present, by workflow id.")


@extend_schema(tags=["collaboration"])
class PresenceManyApi(APIView):
    permission_classes = [WorkflowReadPermission]

    @extend_schema(parameters=[OpenApiParameter(
        "workflow", str, many=True, required=True,
        description="A workflow's id (repeatable, at most COLLABORATION_PRESENCE_MANY_MAX).")],
        responses={200: PresenceManySerializer, **error_responses(400, 401, 403, 429)})
    def get(self, request):
        """Who is present on each of several workflows (a list page's rows), in one
        request. Workflows that do not exist are left out."""
        query = PresenceQuerySerializer(data={"workflow": request.query_params.getlist(
            "workflow")})
        query.is_valid(raise_exception=True)
        ids = [str(pk) for pk in Workflow.objects.filter(
            pk__in=query.validated_data["workflow"]).values_list("pk", flat=True)]
        return Response({"presence": async_to_sync(_presence_many)(ids)})


async def _presence_many(workflow_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    if not workflow_ids:
        return {}
    client = selectors.presence_client()
    try:
        return await selectors.presence_many(client=client, workflow_ids=workflow_ids)
    finally:
        await client.aclose()


class UserApi(APIView):
    permission_classes = [WorkflowReadPermission]

    def workflows(self, reference: str) -> tuple[Any, list[Workflow]]:
        """The user, and the workflows they are in now. (Reading any workflow needs
        `workflow.read`, which the asker holds; once workflows have owners, the list keeps
        those the asker may read.)"""
        user = user_get(reference)
        ids = async_to_sync(_workflows)(user.pk)
        return user, list(Workflow.objects.filter(pk__in=ids).order_by("namespace", "name"))


async def _workflows(user_id: Any) -> list[str]:
    client = selectors.presence_client()
    try:
        return await selectors.presence_workflows(client=client, user_id=user_id)
    finally:
        await client.aclose()


USER_PARAMETER = OpenApiParameter("user", str, OpenApiParameter.PATH,
                                  description="Username or id.")


@extend_schema(tags=["collaboration"], parameters=[USER_PARAMETER])
class UserOnlineApi(UserApi):
    @extend_schema(responses={200: OnlineSerializer, **READ_ERRORS})
    def get(self, request, user):
        """Whether the user is present on any workflow now."""
        target, workflows = self.workflows(user)
        return Response({"user": target.get_username(), "online": bool(workflows),
                         "workflows": len(workflows)})


@extend_schema(tags=["collaboration"], parameters=[USER_PARAMETER])
class UserWorkflowsApi(UserApi):
    @extend_schema(responses={200: UserWorkflowsSerializer, **READ_ERRORS})
    def get(self, request, user):
        """The workflows the user is present on now (those the asker may read)."""
        target, workflows = self.workflows(user)
        return Response({"user": target.get_username(), "workflows": [
            {"id": str(workflow.pk), "name": workflow.full_name} for workflow in workflows]})
