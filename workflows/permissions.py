"""The four workflow permissions, granted through groups, checked per HTTP method."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission
from rest_framework.permissions import SAFE_METHODS, BasePermission

from config.errors import PermissionDeniedError

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


def trigger_arm_check(*, actor: Any, what: str) -> None:
    """Refuse a user without workflow.execute the making of something that starts runs
    later without them: a webhook URL, an enabled schedule, an event subscription or a
    dependency. Otherwise workflow.write alone would be enough to start runs.

    `actor` None is the platform itself (beat, the workflow file sync, management commands),
    which acts for the operators who deployed the files.
    """
    if actor is None:
        return
    if not (getattr(actor, "is_authenticated", False) and actor.has_perm(EXECUTE)):
        raise PermissionDeniedError(
            f"{what} starts runs of the workflow, so it needs {EXECUTE} as well as "
            f"{WRITE}.", details={"permission": EXECUTE})


class PermissionBackend(ModelBackend):
    """Django's model backend, reading a user's permissions (their own and their groups')
    in one query instead of two.

    Nothing is cached beyond the request (Django keeps the set on the user object, which
    each request loads afresh), so a revoked permission is refused on the next request.
    """

    def get_all_permissions(self, user_obj, obj=None) -> set[str]:
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            if user_obj.is_superuser:
                rows = Permission.objects.values_list("content_type__app_label", "codename")
            else:
                fields = ("content_type__app_label", "codename")
                own = Permission.objects.filter(user=user_obj)
                granted = Permission.objects.filter(group__user=user_obj)
                rows = own.order_by().values_list(*fields).union(
                    granted.order_by().values_list(*fields))
            user_obj._perm_cache = {f"{app_label}.{codename}" for app_label, codename in rows}
        return user_obj._perm_cache


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
