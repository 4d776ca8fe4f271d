"""Events API: publish a named event; every workflow subscribed to it starts."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from config.openapi import error_responses
from config.serializers import InputSerializer
from workflows.models import EVENT_NAME
from workflows.permissions import WorkflowExecutePermission
from workflows.triggers.events import KEY_MAX, NAME_MAX, event_publish


class EventInputSerializer(InputSerializer):
    event = serializers.RegexField(EVENT_NAME, max_length=NAME_MAX,
                                   help_text="The event's name, e.g. `order.created`.")
    input = serializers.DictField(required=False, default=dict,
                                  help_text="The input of every execution it starts.")
    idempotency_key = serializers.CharField(
        required=False, allow_blank=False, max_length=KEY_MAX,
        help_text="Publishing again with the same key starts nothing more.")


class EventResultSerializer(serializers.Serializer):
    event = serializers.CharField()
    message_id = serializers.CharField(help_text="The AMQP message id of the event.")


class EventApi(APIView):
    """Publish an event on the `workflows` exchange (routing key `workflow.event`); the
    workers start the subscribed workflows. Accepted, not yet started: poll the executions."""

    permission_classes = [WorkflowExecutePermission]

    @extend_schema(tags=["triggers"], request=EventInputSerializer,
                   responses={202: EventResultSerializer,
                              **error_responses(400, 401, 403, 429, 503)})
    def post(self, request):
        data = EventInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        message_id = event_publish(**data.validated_data)
        return Response({"event": data.validated_data["event"], "message_id": message_id},
                        status=status.HTTP_202_ACCEPTED)
