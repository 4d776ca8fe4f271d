"""What the collaboration API's views share: the workflow named in the path, a user named
by username or id, and the presence a caller gives."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers
from rest_framework.views import APIView

from collaboration import services
from collaboration.models import PresenceStatus
from config.errors import NotFoundError
from config.parsers import whole_number
from config.serializers import InputSerializer
from workflows import selectors as workflow_selectors
from workflows.models import Workflow
from workflows.permissions import WorkflowPermission

NODE_ID_MAX = 100


def json_bytes(value: Any) -> int:
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




def user_get(reference: str) -> Any:
    """A user named by username or numeric id; 404 when none is."""
    users = get_user_model().objects.filter(is_active=True)
    user = users.filter(username=reference).first()
    pk = whole_number(reference, maximum=2**63 - 1)  # a bigint at most
    if user is None and pk is not None and pk < 2**63:
        user = users.filter(pk=pk).first()
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
