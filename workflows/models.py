"""Workflows, their immutable versions, tags and encrypted secrets."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models

NAME_PATTERN = r"^[a-z0-9][a-z0-9_.-]*$"
name_validator = RegexValidator(NAME_PATTERN, "Use lowercase letters, digits, '_', '.' and '-'.")


class Tag(models.Model):
    """A label to group and filter workflows."""

    name = models.CharField(max_length=50, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Workflow(models.Model):
    """A named workflow; its graph lives in immutable versions."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    namespace = models.CharField(max_length=100, default="default", validators=[name_validator])
    name = models.CharField(max_length=100, validators=[name_validator])
    description = models.TextField(blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="workflows",
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="workflows")
    active = models.BooleanField(default=True)
    current_version = models.ForeignKey(
        "WorkflowVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["namespace", "name"]
        constraints = [
            models.UniqueConstraint(fields=["namespace", "name"], name="workflow_unique_name"),
        ]
        indexes = [models.Index(fields=["-updated_at"], name="workflow_updated_idx")]
        permissions = [
            ("read", "Read workflows, versions and executions"),
            ("write", "Create, change and delete workflows"),
            ("execute", "Start and control executions"),
            ("admin", "Manage secrets and read the audit log"),
        ]

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


class WorkflowVersion(models.Model):
    """One immutable definition of a workflow; executions pin the version they run."""

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    definition = models.JSONField()
    checksum = models.CharField(max_length=64)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    change_note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["workflow", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["workflow", "number"], name="version_unique_number"),
            models.CheckConstraint(
                condition=models.Q(number__gte=1), name="version_number_positive"
            ),
        ]
        indexes = [models.Index(fields=["workflow", "checksum"], name="version_checksum_idx")]

    def __str__(self) -> str:
        return f"{self.workflow} v{self.number}"


class Secret(models.Model):
    """A named credential, encrypted at rest; its value is never returned or logged."""

    name = models.CharField(
        max_length=100, unique=True,
        validators=[RegexValidator(r"^[A-Za-z_][A-Za-z0-9_]*$", "Use letters, digits and '_'.")],
    )
    description = models.CharField(max_length=500, blank=True)
    ciphertext = models.BinaryField(editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"<Secret {self.name}>"
