"""A workflow's shared state (key/value, versioned) and its collaboration events."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from collaboration import selectors, services
from collaboration.apis.common import (
    WORKFLOW_PARAMETER,
    WorkflowCollaborationApi,
    json_bytes,
)
from collaboration.models import EVENT_KINDS_POSTED, EventKind, SharedState
from config.errors import NotFoundError
from config.openapi import READ_ERRORS, WRITE_ERRORS, error_responses
from config.parsers import whole_number, whole_text
from config.serializers import InputSerializer

STATE_KEY_PATTERN = r"^[A-Za-z0-9_.:-]{1,200}$"


class CollaborationEventInputSerializer(InputSerializer):
    kind = serializers.ChoiceField(
        choices=[(kind.value, kind.label) for kind in EVENT_KINDS_POSTED],
        default=EventKind.MESSAGE,
        help_text="The kinds a client may post; the others the platform records.")
    data = serializers.DictField(required=False, default=dict)

    def validate_data(self, value: dict[str, Any]) -> dict[str, Any]:
        if json_bytes(value) > settings.COLLABORATION_EVENT_MAX_BYTES:
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
        if json_bytes(value) > settings.COLLABORATION_STATE_MAX_BYTES:
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




def _state_public(row: SharedState) -> dict[str, Any]:
    return {"key": row.key, "value": row.value, "version": row.version,
            "updated_by": row.updated_by.get_username() if row.updated_by_id else None,
            "updated_at": row.updated_at.isoformat()}




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
        field = serializers.RegexField(whole_text(STATE_KEY_PATTERN))
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
        asked = request.query_params.get("version")
        version = whole_number(asked, maximum=2**31 - 1) if asked is not None else None
        if asked is not None and (version is None or version >= 2**31):
            raise serializers.ValidationError({"version": ["A whole number (a key's version)."]})
        if not services.state_delete(workflow=self.workflow(), key=key, user=request.user,
                                     version=version):
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
