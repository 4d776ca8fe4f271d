"""The shared draft through the API: read it, publish it as the next version."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from collaboration import selectors, services
from collaboration.apis.common import WORKFLOW_PARAMETER, WorkflowCollaborationApi
from config.openapi import READ_ERRORS, WRITE_ERRORS
from config.serializers import InputSerializer


class DraftSerializer(serializers.Serializer):
    base_version = serializers.IntegerField(
        allow_null=True, help_text="The version the draft holds besides its editors' changes.")
    seq = serializers.IntegerField(help_text="The number of the draft's last update.")
    authors = serializers.ListField(
        child=serializers.CharField(),
        help_text="Who changed the draft since it was last published (the next version's "
                  "co-authors).")
    definition = serializers.DictField(help_text="The definition the draft holds now.")
    report = serializers.DictField(
        help_text="Its validation report: `valid`, `errors`, `warnings`.")
    updated_at = serializers.DateTimeField()


class DraftPublishInputSerializer(InputSerializer):
    change_note = serializers.CharField(max_length=500, allow_blank=True, required=False,
                                        default="")


class DraftPublishSerializer(serializers.Serializer):
    version = serializers.IntegerField(
        allow_null=True, help_text="The new version's number; null when the draft held "
                                   "what the current version holds.")
    author = serializers.CharField(allow_null=True)
    co_authors = serializers.ListField(child=serializers.CharField())
    change_note = serializers.CharField()


@extend_schema(tags=["collaboration"], parameters=[WORKFLOW_PARAMETER])
class DraftApi(WorkflowCollaborationApi):
    @extend_schema(operation_id="collaboration_draft_retrieve",
                   responses={200: DraftSerializer, **READ_ERRORS})
    def get(self, request, workflow):
        """The workflow's shared draft as a definition, with its validation report and who
        changed it since it was last published. The draft is made from the current version
        the first time it is read; it is edited over `/ws/workflows/{id}/draft/`."""
        draft = services.draft_open(workflow=self.workflow())
        doc, seq = selectors.draft_document(draft=draft)
        definition, report = selectors.draft_validate(doc=doc)
        users = get_user_model().objects.filter(pk__in=draft.authors)
        return Response({
            "base_version": draft.base_version, "seq": seq,
            "authors": sorted(user.get_username() for user in users),
            "definition": definition, "report": report.as_dict(),
            "updated_at": draft.updated_at})


@extend_schema(tags=["collaboration"], parameters=[WORKFLOW_PARAMETER])
class DraftPublishApi(WorkflowCollaborationApi):
    @extend_schema(request=DraftPublishInputSerializer,
                   responses={201: DraftPublishSerializer, 200: DraftPublishSerializer,
                              **WRITE_ERRORS})
    def post(self, request, workflow):
        """Publish the draft as the workflow's next version (validated; runs use published
        versions only), with everyone who changed it since it was last published as
        co-authors. 400 `draft_invalid` with every problem when it is invalid; 200 with
        `version: null` when it holds what the current version holds."""
        data = DraftPublishInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        _, version = services.draft_publish(
            workflow=self.workflow(), actor=request.user,
            change_note=data.validated_data["change_note"])
        if version is None:
            return Response({"version": None, "author": None, "co_authors": [],
                             "change_note": ""})
        return Response({
            "version": version.number, "author": request.user.get_username(),
            "co_authors": sorted(user.get_username() for user in version.co_authors.all()),
            "change_note": version.change_note}, status=status.HTTP_201_CREATED)
