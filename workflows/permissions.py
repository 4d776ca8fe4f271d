"""The four workflow permissions, granted through groups, checked per HTTP method."""

from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS, BasePermission

READ = "workflow.read"
WRITE = "workflow.write"
EXECUTE = "workflow.execute"
ADMIN = "workflow.admin"

# One group per level, created by a migration so operators grant access by group.
DEFAULT_GROUPS = {
    "workflow-viewers": ["read"],
    "workflow-editors": ["read", "write"],
    "workflow-operators": ["read", "execute"],
    "workflow-admins": ["read", "write", "execute", "admin"],
}


def default_groups_ensure(group_model, permission_model) -> None:
    """Create the default groups with their permissions (models passed in, so a migration
    can use its historical ones)."""
    for name, codenames in DEFAULT_GROUPS.items():
        group, _ = group_model.objects.get_or_create(name=name)
        group.permissions.add(*permission_model.objects.filter(
            content_type__app_label="workflow", codename__in=codenames))


class MethodPermission(BasePermission):
    """Authenticated, and holding the permission the request's method needs."""

    safe: str = READ
    unsafe: str = WRITE

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        needed = self.safe if request.method in SAFE_METHODS else self.unsafe
        return user.has_perm(needed)


class WorkflowPermission(MethodPermission):
    """Reading needs workflow.read; changing needs workflow.write."""


class WorkflowReadPermission(MethodPermission):
    """workflow.read for every method (for side-effect-free POSTs such as validation)."""

    unsafe = READ


class WorkflowExecutePermission(MethodPermission):
    """workflow.execute to start a run (and workflow.read to look)."""

    unsafe = EXECUTE


class WorkflowAdminPermission(MethodPermission):
    """workflow.admin for everything (audit log)."""

    safe = ADMIN
    unsafe = ADMIN


class SecretPermission(MethodPermission):
    """Designers (workflow.write) see secret names; only workflow.admin changes them."""

    safe = WRITE
    unsafe = ADMIN
