"""Waits API: open bookmarks (e.g. my approvals), resuming them, messages and hooks."""

from __future__ import annotations

import logging
from typing import Any

import django_filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import MethodNotAllowed, PermissionDenied
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import NotFoundError
from config.openapi import READ_ERRORS, error_responses
from config.parsers import LimitedJSONParser
from config.serializers import InputSerializer
from executions import selectors
from executions.models import Bookmark, BookmarkKind, BookmarkStatus
from executions.services import waits
from workflows.models import EVENT_NAME
from workflows.permissions import READ, WorkflowExecutePermission
from workflows.triggers import webhooks

logger = logging.getLogger(__name__)


class BookmarkPermission(BasePermission):
    """Any signed-in user sees the waits assigned to them (an approver needs no workflow
    permission); workflow.read shows every wait. Resuming needs workflow.execute or being
    the assignee, checked per bookmark."""

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated)


class BookmarkFilter(django_filters.FilterSet):
    mine = django_filters.BooleanFilter(method="filter_mine",
                                        label="Only waits assigned to me or my groups.")
    answerable = django_filters.BooleanFilter(
        method="filter_answerable",
        label="Only waits the caller may resume: all with workflow.execute, else those "
              "assigned to them or their groups.")
    execution = django_filters.UUIDFilter(field_name="execution_id")

    class Meta:
        model = Bookmark
        fields = ["kind", "assignee", "status"]

    def filter_mine(self, queryset, name, value):
        if not value:
            return queryset
        return queryset & selectors.bookmark_list(user=self.request.user, mine=True)

    def filter_answerable(self, queryset, name, value):
        if not value:
            return queryset
        return queryset & selectors.bookmarks_answerable(user=self.request.user)


class BookmarkSerializer(serializers.ModelSerializer):
    workflow = serializers.CharField(source="execution.workflow.full_name", read_only=True)
    hook_url = serializers.SerializerMethodField(
        help_text="For webhook waits: POST here to resume the node. The URL is the "
                  "credential, so it is shown only to those who may resume the wait "
                  "(workflow.execute or the assignee); null for the others."
    )
    request = serializers.SerializerMethodField(
        help_text="What the node asked for (a prompt, a form, a message type...). A Loop's "
                  "wait leaves out its items and gives their `count`: each item is on its "
                  "iteration (`GET /api/executions/{id}/children`)."
    )

    class Meta:
        model = Bookmark
        fields = ["id", "execution", "workflow", "node_id", "iteration", "kind", "status",
                  "assignee", "key", "due_at", "request", "hook_url", "created_at",
                  "resumed_by", "resumed_at"]

    def get_hook_url(self, bookmark: Bookmark) -> str | None:
        if bookmark.kind != BookmarkKind.WEBHOOK:
            return None
        request = self.context.get("request")
        if request is None or not selectors.bookmark_may_answer(bookmark=bookmark,
                                                                user=request.user):
            return None
        return webhooks.hook_path(bookmark.token)

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_request(self, bookmark: Bookmark) -> Any:
        deferred = "request" in bookmark.get_deferred_fields()
        return selectors.bookmark_request_shown(
            bookmark.request_shown if deferred else bookmark.request)


class ResumeInputSerializer(InputSerializer):
    outcome = serializers.CharField(required=False, help_text="For user actions: the answer.")
    payload = serializers.JSONField(required=False, default=dict,
                                    help_text="The form's data, or the message's payload.")


class MessageInputSerializer(InputSerializer):
    message_type = serializers.RegexField(EVENT_NAME, max_length=200)
    correlation_key = serializers.CharField(max_length=1000)
    payload = serializers.JSONField(required=False, default=dict)


class HookResultSerializer(serializers.Serializer):
    execution = serializers.UUIDField()
    node_id = serializers.CharField()


class MessageResultSerializer(serializers.Serializer):
    resumed = serializers.ListField(child=serializers.IntegerField(),
                                    help_text="The bookmarks the message resumed.")


@extend_schema_view(
    list=extend_schema(responses={200: BookmarkSerializer, **error_responses(400, 401, 403, 429)}),
    retrieve=extend_schema(responses={200: BookmarkSerializer, **READ_ERRORS}),
)
@extend_schema(tags=["waits"])
class BookmarkViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin,
                      viewsets.GenericViewSet):
    """Open waits: approvals, messages, webhooks and timers."""

    permission_classes = [BookmarkPermission]
    serializer_class = BookmarkSerializer
    filterset_class = BookmarkFilter
    ordering_fields = ["created_at", "due_at"]
    ordering = ["created_at"]

    def get_queryset(self):
        user = self.request.user
        bookmarks = selectors.bookmark_list(user=user, mine=not user.has_perm(READ))
        if self.action == "list" and "status" not in self.request.query_params:
            bookmarks = bookmarks.filter(status=BookmarkStatus.OPEN)  # open waits by default
        return bookmarks

    def filter_queryset(self, queryset):
        return selectors.bookmarks_light(super().filter_queryset(queryset))

    @extend_schema(
        request=ResumeInputSerializer,
        responses={200: BookmarkSerializer, **error_responses(400, 401, 403, 404, 409, 429)},
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def resume(self, request, pk=None):
        """Resume the wait: a user action's outcome picks the branch taken."""
        bookmark = self.get_object()
        user = request.user
        if not selectors.bookmark_may_answer(bookmark=bookmark, user=user):
            raise PermissionDenied("Only the assignee or a user with workflow.execute may.")
        data = ResumeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        payload = data.validated_data["payload"]
        if bookmark.kind == BookmarkKind.USER_ACTION:
            payload = {"outcome": data.validated_data.get("outcome"), "payload": payload}
        resumed = waits.bookmark_resume(bookmark=bookmark, payload=payload,
                                        by=user.get_username())
        return Response(BookmarkSerializer(Bookmark.objects.get(pk=resumed.pk),
                                           context=self.get_serializer_context()).data)


class MessageApi(APIView):
    """Deliver an external message to the executions waiting for it."""

    permission_classes = [WorkflowExecutePermission]

    @extend_schema(tags=["waits"], request=MessageInputSerializer,
                   responses={202: MessageResultSerializer, **error_responses(400, 401, 403, 429)})
    def post(self, request):
        data = MessageInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        resumed = waits.message_deliver(by=request.user.get_username(), **data.validated_data)
        return Response({"resumed": [bookmark.pk for bookmark in resumed]},
                        status=status.HTTP_202_ACCEPTED)


class HookTriggerResultSerializer(serializers.Serializer):
    execution = serializers.UUIDField()
    status = serializers.CharField()


class HookApi(APIView):
    """A secret hook URL: a webhook trigger's (starts its workflow) or a webhook wait's
    (resumes the node). The token is the credential, so no login is needed.

    A trigger's own `rate_limit` is the limit of its URL: the per-address API throttle
    would cap every sender behind one address below it."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []
    parser_classes = [LimitedJSONParser]

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if response.status_code >= 400:
            # Django's request log would print the path, which holds the secret token.
            code = response.data.get("code", "") if isinstance(response.data, dict) else ""
            logger.warning("hook request refused: %s %s", response.status_code, code)
            response._has_been_logged = True
        return response

    @extend_schema(
        tags=["waits"], request=OpenApiTypes.OBJECT,
        parameters=[OpenApiParameter("token", OpenApiTypes.STR, OpenApiParameter.PATH)],
        responses={202: PolymorphicProxySerializer(
                       component_name="HookPostResult",
                       serializers=[HookTriggerResultSerializer, HookResultSerializer],
                       resource_type_field_name=None),
                   **error_responses(400, 401, 404, 405, 409, 413, 415, 429)},
        description="A webhook trigger's token starts its workflow with the JSON object "
                    "body as input (`{execution, status}`); a webhook wait's token resumes "
                    "the node (`{execution, node_id}`). See docs/webhooks.md.",
    )
    def post(self, request, token: str):
        """Start the trigger's workflow, or resume the webhook wait."""
        body = request.body  # the raw bytes first: the size and signature are over them
        if request.method == "POST":
            try:
                execution, _ = webhooks.webhook_fire(
                    token=token, body=body, headers=request.headers,
                    content_type=request.content_type or "",
                    correlation_id=getattr(request, "correlation_id", "") or "",
                )
            except webhooks.WebhookRateLimitedError as exc:
                return Response(exc.as_dict(), status=exc.status_code,
                                headers={"Retry-After": str(exc.retry_after)})
            except webhooks.WebhookNotFoundError:
                pass  # not a trigger: perhaps a webhook wait
            else:
                return Response({"execution": str(execution.pk), "status": execution.status},
                                status=status.HTTP_202_ACCEPTED)
        bookmark = Bookmark.objects.filter(token=token, status=BookmarkStatus.OPEN,
                                           kind=BookmarkKind.WEBHOOK).first()
        if bookmark is None:  # unknown, used or closed: the same answer, revealing nothing
            raise NotFoundError(webhooks.HOOK_NOT_FOUND)
        if request.method not in bookmark.request.get("methods", ["POST"]):
            raise MethodNotAllowed(request.method)
        body = request.data
        headers = {key: value for key, value in request.headers.items()
                   if key.lower() not in {"authorization", "cookie"}}
        resumed = waits.bookmark_resume(
            bookmark=bookmark, payload={"body": body, "headers": headers}, by=None
        )
        return Response({"execution": str(resumed.execution_id), "node_id": resumed.node_id},
                        status=status.HTTP_202_ACCEPTED)

    @extend_schema(tags=["waits"], request=OpenApiTypes.OBJECT,
                   responses={202: HookResultSerializer,
                              **error_responses(400, 404, 405, 409, 413, 429)})
    def put(self, request, token: str):
        """Resume the webhook wait (when its node accepts PUT)."""
        return self.post(request, token)

    @extend_schema(tags=["waits"], request=OpenApiTypes.OBJECT,
                   responses={202: HookResultSerializer,
                              **error_responses(400, 404, 405, 409, 413, 429)})
    def patch(self, request, token: str):
        """Resume the webhook wait (when its node accepts PATCH)."""
        return self.post(request, token)
