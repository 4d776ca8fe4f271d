"""What the workflow admins share: the workflow permissions, and service errors shown as
messages."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponseRedirect

from config.errors import ApplicationError


class WorkflowPermissionsMixin:
    """Viewing needs workflow.read; adding, changing and deleting need workflow.write."""

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.has_perm("workflow.read")

    def has_add_permission(self, request) -> bool:
        return request.user.has_perm("workflow.write")

    def has_change_permission(self, request, obj=None) -> bool:
        return request.user.has_perm("workflow.write")

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.has_perm("workflow.write")


class ServiceErrorsMixin:
    """A service's refusal on save (e.g. a name taken by a concurrent save) is shown as a
    message on the form's page instead of a server error."""

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ApplicationError as exc:
            self.message_user(request, exc.message, level=messages.ERROR)
            return HttpResponseRedirect(request.path)
