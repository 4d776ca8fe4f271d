"""Collaboration API: presence, shared state and events of a workflow's collaborators.

Reading needs `workflow.read`; so does being present (joining, leaving, saying what one
does). Changing the shared state and posting events needs `workflow.write`.
"""

from __future__ import annotations

import json
from typing import Any

from asgiref.sync import async_to_sync
from django.conf import settings
from django.contrib.auth import get_user_model
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from collaboration import selectors, services
from collaboration.models import EVENT_KINDS_POSTED, EventKind, PresenceStatus, SharedState
from config.errors import NotFoundError, PermissionDeniedError
from config.openapi import READ_ERRORS, WRITE_ERRORS, error_responses
from config.serializers import InputSerializer
from workflows import selectors as workflow_selectors
from workflows.models import Workflow
from workflows.permissions import WorkflowPermission, WorkflowReadPermission

NODE_ID_MAX = 100
STATE_KEY_PATTERN = r"^[A-Za-z0-9_.:-]{1,200}$"


def _json_bytes(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":")).encode())


class PresenceInputSerializer(InputSerializer):
    status = serializers.ChoiceField(choices=PresenceStatus.choices, required=False)
    activity = serializers.CharField(
        max_length=settings.COLLABORATION_ACTIVITY_MAX_CHARS, allow_blank=True,
        required=False, help_text="What one is doing, e.g. `editing fetch`.")
    selection = serializers.ListField(
        child=serializers.CharField(max_length=NODE_ID_MAX),
        max_length=settings.COLLABORATION_SELECTION_MAX, required=False,
        help_text="The ids of the nodes one has selected.")


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


class CollaborationEventInputSerializer(InputSerializer):
    kind = serializers.ChoiceField(
        choices=[(kind.value, kind.label) for kind in EVENT_KINDS_POSTED],
        default=EventKind.MESSAGE,
        help_text="The kinds a client may post; the others the platform records.")
    data = serializers.DictField(required=False, default=dict)

    def validate_data(self, value: dict[str, Any]) -> dict[str, Any]:
        if _json_bytes(value) > settings.COLLABORATION_EVENT_MAX_BYTES:
            raise serializers.ValidationError(
                f"At most {settings.COLLABORATION_EVENT_MAX_BYTES} bytes of JSON.")
        return value


class CollaborationEventSerializer(serializers.Serializer):
    seq = serializers.IntegerField(help_text="The event's number in its workflow, from 1.")
    kind = serializers.ChoiceField(choices=EventKind.choices)
    user = serializers.CharField(allow_null=True)
    data = serializers.DictField()
    created_at = serializers.DateTimeField()


class CollaborationEventsSerializer(serializers.Serializer):
    events = CollaborationEventSerializer(many=True)
    last_seq = serializers.IntegerField(
        help_text="The number to pass as `after` next time (the last one returned, or "
        "`after` when none was).")
    more = serializers.BooleanField(help_text="More events follow: ask again.")


class StateInputSerializer(InputSerializer):
    value = serializers.JSONField(help_text="Any JSON value.")
    version = serializers.IntegerField(
        min_value=0, required=False,
        help_text="Write only when the key is at this version now (0: only when it does "
        "not exist); otherwise 409 with the current version.")

    def validate_value(self, value: Any) -> Any:
        if _json_bytes(value) > settings.COLLABORATION_STATE_MAX_BYTES:
            raise serializers.ValidationError(
                f"At most {settings.COLLABORATION_STATE_MAX_BYTES} bytes of JSON.")
        return value


class StateEntrySerializer(serializers.Serializer):
    key = serializers.CharField()
    value = serializers.JSONField()
    version = serializers.IntegerField()
    updated_by = serializers.CharField(allow_null=True)
    updated_at = serializers.DateTimeField()


class StateSerializer(serializers.Serializer):
    state = serializers.DictField(child=StateEntrySerializer(),
                                  help_text="Every key, with its value and version.")


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


def _state_public(row: SharedState) -> dict[str, Any]:
    return {"key": row.key, "value": row.value, "version": row.version,
            "updated_by": row.updated_by.get_username() if row.updated_by_id else None,
            "updated_at": row.updated_at.isoformat()}


def _user_get(reference: str) -> Any:
    """A user named by username or numeric id; 404 when none is."""
    users = get_user_model().objects.filter(is_active=True)
    user = users.filter(username=reference).first()
    if user is None and reference.isdigit():
        user = users.filter(pk=int(reference)).first()
    if user is None:
        raise NotFoundError(f"No user '{reference}'.", details={"user": reference})
    return user


class WorkflowCollaborationApi(APIView):
    """Base: the workflow named in the path (id or `namespace/name`)."""

    permission_classes = [WorkflowPermission]

    def workflow(self) -> Workflow:
        return workflow_selectors.workflow_by_reference(
            reference=self.kwargs["workflow"], queryset=Workflow.objects.all())

    def join(self, request) -> list[dict[str, Any]]:
        """Make the caller present with the body's presence; everyone present."""
        data = PresenceInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return services.presence_join(
            workflow=self.workflow(), user=request.user,
            status=data.validated_data.get("status", PresenceStatus.ONLINE),
            activity=data.validated_data.get("activity", ""),
            selection=data.validated_data.get("selection", []))


WORKFLOW_PARAMETER = OpenApiParameter("workflow", str, OpenApiParameter.PATH,
                                      description="The workflow's id or `namespace/name`.")


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
        target = _user_get(user)
        if target.pk != request.user.pk:
            raise PermissionDeniedError("One sets one's own presence only.",
                                        details={"user": user})
        return Response({"users": self.join(request)})


@extend_schema(tags=["collaboration"], parameters=[WORKFLOW_PARAMETER])
class StateListApi(WorkflowCollaborationApi):
    @extend_schema(operation_id="collaboration_state_list",
                   responses={200: StateSerializer, **READ_ERRORS})
    def get(self, request, workflow):
        """The workflow's shared state: every key with its value and version."""
        rows = selectors.state_list(workflow=self.workflow())
        return Response({"state": {row.key: _state_public(row) for row in rows}})


@extend_schema(tags=["collaboration"], parameters=[
    WORKFLOW_PARAMETER,
    OpenApiParameter("key", str, OpenApiParameter.PATH,
                     description="Letters, digits, `_ . : -`; at most 200.")])
class StateKeyApi(WorkflowCollaborationApi):
    def _key(self, key: str) -> str:
        field = serializers.RegexField(STATE_KEY_PATTERN)
        try:
            return field.run_validation(key)
        except serializers.ValidationError as exc:
            raise serializers.ValidationError({"key": exc.detail}) from None

    @extend_schema(operation_id="collaboration_state_key_retrieve",
                   responses={200: StateEntrySerializer, **READ_ERRORS})
    def get(self, request, workflow, key):
        """One key of the shared state; 404 when it is not set."""
        row = selectors.state_get(workflow=self.workflow(), key=self._key(key))
        if row is None:
            raise NotFoundError(f"No shared state '{key}'.", details={"key": key})
        return Response(_state_public(row))

    @extend_schema(request=StateInputSerializer,
                   responses={200: StateEntrySerializer, **WRITE_ERRORS})
    def put(self, request, workflow, key):
        """Set one key (its version is one more); everyone on the workflow's socket gets a
        `state_changed` event."""
        key = self._key(key)
        data = StateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        row = services.state_put(workflow=self.workflow(), key=key,
                                 value=data.validated_data["value"], user=request.user,
                                 version=data.validated_data.get("version"))
        return Response(_state_public(row))

    @extend_schema(parameters=[OpenApiParameter(
        "version", int, description="Delete only at this version (else 409).")],
        responses={204: None, **error_responses(400, 401, 403, 404, 409, 429)})
    def delete(self, request, workflow, key):
        """Remove one key; 404 when it is not set."""
        key = self._key(key)
        version = request.query_params.get("version")
        if version is not None and not version.isdigit():
            raise serializers.ValidationError({"version": ["A whole number."]})
        if not services.state_delete(workflow=self.workflow(), key=key, user=request.user,
                                     version=int(version) if version is not None else None):
            raise NotFoundError(f"No shared state '{key}'.", details={"key": key})
        return Response(status=status.HTTP_204_NO_CONTENT)


class CollaborationEventsQuerySerializer(InputSerializer):
    after = serializers.IntegerField(min_value=0, default=0,
                                     help_text="Only events numbered above this.")
    limit = serializers.IntegerField(min_value=1, max_value=settings.COLLABORATION_EVENTS_PAGE_MAX,
                                     default=100)


@extend_schema(tags=["collaboration"], parameters=[WORKFLOW_PARAMETER])
class EventsApi(WorkflowCollaborationApi):
    @extend_schema(parameters=[CollaborationEventsQuerySerializer],
                   responses={200: CollaborationEventsSerializer,
                              **error_responses(400, 401, 403, 404, 429)})
    def get(self, request, workflow):
        """The workflow's collaboration events, oldest first: joined, left, edited,
        published, commented, state_changed, message. Pass `after` the `last_seq` of the
        previous answer to resume."""
        query = CollaborationEventsQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        after, limit = query.validated_data["after"], query.validated_data["limit"]
        rows = list(selectors.events_after(workflow=self.workflow(), after=after)[:limit + 1])
        events = [services.event_public(row) for row in rows[:limit]]
        return Response({"events": events,
                         "last_seq": events[-1]["seq"] if events else after,
                         "more": len(rows) > limit})

    @extend_schema(request=CollaborationEventInputSerializer,
                   responses={201: CollaborationEventSerializer, **WRITE_ERRORS})
    def post(self, request, workflow):
        """Post an event (a `message` with any JSON `data`) to everyone on the workflow."""
        data = CollaborationEventInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        event = services.event_record(workflow=self.workflow(), kind=data.validated_data["kind"],
                                      user=request.user, data=data.validated_data["data"])
        return Response(services.event_public(event), status=status.HTTP_201_CREATED)


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
        user = _user_get(reference)
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

