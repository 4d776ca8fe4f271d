"""Comments on a workflow's nodes: a thread per node, open or resolved."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from collaboration import selectors, services
from collaboration.apis.common import NODE_ID_MAX, WORKFLOW_PARAMETER, WorkflowCollaborationApi
from collaboration.models import Comment, CommentThread
from config.errors import NotFoundError
from config.openapi import WRITE_ERRORS, error_responses
from config.parsers import whole_text
from config.serializers import InputSerializer
from workflows.permissions import WorkflowReadPermission

NODE_PATTERN = rf"^[^/\s]{{1,{NODE_ID_MAX}}}$"
NODE = whole_text(NODE_PATTERN)


class CommentInputSerializer(InputSerializer):
    node = serializers.RegexField(NODE,
                                  help_text="The id of the node commented on.")
    body = serializers.CharField(max_length=settings.COLLABORATION_COMMENT_MAX_CHARS,
                                 trim_whitespace=True)


class CommentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    node = serializers.CharField()
    author = serializers.CharField(allow_null=True)
    body = serializers.CharField()
    created_at = serializers.DateTimeField()


class CommentThreadSerializer(serializers.Serializer):
    node = serializers.CharField()
    resolved = serializers.BooleanField()
    resolved_by = serializers.CharField(allow_null=True)
    resolved_at = serializers.DateTimeField(allow_null=True)
    comments = CommentSerializer(many=True)


class CommentThreadsSerializer(serializers.Serializer):
    threads = CommentThreadSerializer(many=True)


class ThreadInputSerializer(InputSerializer):
    resolved = serializers.BooleanField()


class CommentsQuerySerializer(InputSerializer):
    node = serializers.RegexField(NODE, required=False,
                                  help_text="Only this node's thread.")
    resolved = serializers.BooleanField(required=False, allow_null=True, default=None,
                                        help_text="Only resolved (true) or open (false) "
                                                  "threads.")


def comment_public(comment: Comment, node: str) -> dict[str, Any]:
    return {"id": comment.pk, "node": node,
            "author": comment.author.get_username() if comment.author_id else None,
            "body": comment.body, "created_at": comment.created_at}


def thread_public(thread: CommentThread) -> dict[str, Any]:
    return {"node": thread.node, "resolved": thread.resolved,
            "resolved_by": thread.resolved_by.get_username() if thread.resolved_by_id else None,
            "resolved_at": thread.resolved_at,
            "comments": [comment_public(comment, thread.node)
                         for comment in thread.comments.all()]}


@extend_schema(tags=["collaboration"], parameters=[WORKFLOW_PARAMETER])
class CommentsApi(WorkflowCollaborationApi):
    permission_classes = [WorkflowReadPermission]

    @extend_schema(parameters=[CommentsQuerySerializer],
                   responses={200: CommentThreadsSerializer,
                              **error_responses(400, 401, 403, 404, 429)})
    def get(self, request, workflow):
        """The workflow's comment threads, one per node commented on, each with its
        comments oldest first."""
        query = CommentsQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        threads = selectors.comment_threads(
            workflow=self.workflow(), node=query.validated_data.get("node"),
            resolved=query.validated_data["resolved"])
        return Response({"threads": [thread_public(thread) for thread in threads]})

    @extend_schema(request=CommentInputSerializer,
                   responses={201: CommentSerializer, **WRITE_ERRORS})
    def post(self, request, workflow):
        """Comment on a node (`workflow.read` is enough: a comment does not change the
        workflow). A resolved thread opens again; everyone on the workflow's socket gets a
        `commented` event."""
        data = CommentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        node = data.validated_data["node"]
        comment = services.comment_add(workflow=self.workflow(), node=node,
                                       body=data.validated_data["body"], author=request.user)
        return Response(comment_public(comment, node), status=status.HTTP_201_CREATED)


@extend_schema(tags=["collaboration"], parameters=[
    WORKFLOW_PARAMETER,
    OpenApiParameter("node", str, OpenApiParameter.PATH, description="The node's id.")])
class CommentThreadApi(WorkflowCollaborationApi):
    permission_classes = [WorkflowReadPermission]

    @extend_schema(request=ThreadInputSerializer,
                   responses={200: CommentThreadSerializer, **WRITE_ERRORS})
    def patch(self, request, workflow, node):
        """Resolve a node's thread (`{"resolved": true}`) or open it again; 404 when the
        node has no comments."""
        data = ThreadInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        thread = services.thread_resolve(workflow=self.workflow(), node=node,
                                         resolved=data.validated_data["resolved"],
                                         user=request.user)
        if thread is None:
            raise NotFoundError(f"Node '{node}' has no comments.", details={"node": node})
        return Response(thread_public(thread))
