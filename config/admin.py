"""Admin pieces shared by the apps."""

from __future__ import annotations


class ReadOnlyAdminMixin:
    """For records nobody edits by hand (versions, logs, audit, events): view only, for
    holders of `view_permission`."""

    view_permission = "workflow.read"

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.has_perm(self.view_permission)
