"""Workflows, their immutable versions, tags and encrypted secrets."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models

from config.parsers import whole_text

NAME_PATTERN = r"^[a-z0-9][a-z0-9_.-]*$"
# The names' patterns, compiled to match the whole text (config.parsers.whole_text): the
# models', the API's and the trigger messages' checks use these.
NAME = whole_text(NAME_PATTERN)
SECRET_NAME = whole_text(r"^[A-Za-z_][A-Za-z0-9_]*$")
EVENT_NAME = whole_text(r"^[A-Za-z0-9_.:-]+$")  # events and message types
name_validator = RegexValidator(NAME,
                                "Use lowercase letters, digits, '_', '.' and '-'.")


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
        return self.full_name

    @property
    def full_name(self) -> str:
        """`namespace/name`. (A serializer's `source` names it rather than `__str__`: a
        method there is inspected for its signature on every row.)"""
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
    # Everyone whose edits of the shared draft went into this version (the author publishes).
    co_authors = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
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
        validators=[RegexValidator(SECRET_NAME,
                                   "Use letters, digits and '_'.")],
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


# --- Triggers -----------------------------------------------------------------------------------


class OverlapPolicy(models.TextChoices):
    SKIP = "skip", "Skip while the previous run is active"
    QUEUE = "queue", "Start after the previous run finishes"
    ALLOW = "allow", "Start regardless"


class CatchUpPolicy(models.TextChoices):
    NONE = "none", "Skip runs missed while beat was down"
    LATEST = "latest", "Run the latest missed time once"
    ALL = "all", "Run every missed time, up to the limit"


class Schedule(models.Model):
    """A cron expression in an IANA zone that starts a workflow; beat fires it when due."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="schedules")
    name = models.CharField(max_length=100, default="default", validators=[name_validator])
    cron = models.CharField(max_length=200, help_text="Five cron fields or a macro (@daily).")
    timezone = models.CharField(max_length=64, default="UTC",
                                help_text="IANA zone, e.g. Europe/Berlin.")
    enabled = models.BooleanField(default=True)
    input = models.JSONField(default=dict, blank=True)
    overlap = models.CharField(max_length=8, choices=OverlapPolicy.choices,
                               default=OverlapPolicy.SKIP)
    catch_up = models.CharField(max_length=8, choices=CatchUpPolicy.choices,
                                default=CatchUpPolicy.LATEST)
    catch_up_limit = models.PositiveIntegerField(default=10)
    retry_attempts = models.PositiveIntegerField(
        default=0, help_text="Starts again after a failed run, this many times at most."
    )
    retry_delay = models.PositiveIntegerField(default=60, help_text="Seconds before a retry.")
    timeout = models.PositiveIntegerField(
        null=True, blank=True, help_text="Seconds for a run; empty: the workflow's timeout."
    )
    next_fire_at = models.DateTimeField(null=True, blank=True)
    last_fire_at = models.DateTimeField(null=True, blank=True)
    source = models.CharField(max_length=500, blank=True,
                              help_text="The file it was synced from, if any.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["workflow", "name"]
        constraints = [
            models.UniqueConstraint(fields=["workflow", "name"], name="schedule_unique_name"),
        ]
        indexes = [models.Index(fields=["enabled", "next_fire_at"], name="schedule_due_idx")]

    def __str__(self) -> str:
        return f"{self.workflow}:{self.name}"


class ScheduleRun(models.Model):
    """One fire time of a schedule and what it did: started (which execution), skipped or
    a retry; the unique fire time and attempt make a fire happen once."""

    class Outcome(models.TextChoices):
        STARTED = "started"
        SKIPPED = "skipped"
        FAILED = "failed"

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="runs")
    fire_at = models.DateTimeField()
    attempt = models.PositiveIntegerField(default=1)
    outcome = models.CharField(max_length=8, choices=Outcome.choices)
    execution = models.ForeignKey("executions.Execution", null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+")
    reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["schedule", "-fire_at", "-attempt"]
        constraints = [
            models.UniqueConstraint(fields=["schedule", "fire_at", "attempt"],
                                    name="schedule_run_unique_fire"),
        ]

    def __str__(self) -> str:
        return f"{self.schedule} @ {self.fire_at.isoformat()} #{self.attempt}"


class WebhookTrigger(models.Model):
    """A secret URL, `POST /api/hooks/{token}`, that starts a workflow with the body as input.

    Only a hash of the token is stored: the URL is shown once, when created or rotated.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="webhooks")
    name = models.CharField(max_length=100, default="default", validators=[name_validator])
    enabled = models.BooleanField(default=True)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    token_hint = models.CharField(max_length=8, editable=False,
                                  help_text="The token's first characters, to tell URLs apart.")
    signing_secret = models.BinaryField(null=True, blank=True, editable=False,
                                        help_text="HMAC-SHA256 key, encrypted at rest.")
    signature_header = models.CharField(max_length=100, default="X-Weft-Signature")
    timestamp_header = models.CharField(max_length=100, default="X-Weft-Timestamp", blank=True)
    tolerance = models.PositiveIntegerField(
        default=300, help_text="Seconds a signed timestamp stays valid (replay window)."
    )
    max_body_bytes = models.PositiveIntegerField(default=1_048_576)
    rate_limit = models.PositiveIntegerField(default=60,
                                             help_text="Requests per minute; 0: no limit.")
    created_at = models.DateTimeField(auto_now_add=True)
    rotated_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["workflow", "name"]
        constraints = [
            models.UniqueConstraint(fields=["workflow", "name"], name="webhook_unique_name"),
        ]

    def __str__(self) -> str:
        return f"{self.workflow}:{self.name}"


class EventSubscription(models.Model):
    """A workflow's `triggers: [{event}]` entry: each published event of the name starts it.

    Rebuilt from the current version whenever a version is saved.
    """

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE,
                                 related_name="event_subscriptions")
    event = models.CharField(max_length=200)

    class Meta:
        ordering = ["event", "workflow"]
        constraints = [
            models.UniqueConstraint(fields=["workflow", "event"], name="subscription_unique"),
        ]
        indexes = [models.Index(fields=["event"], name="subscription_event_idx")]

    def __str__(self) -> str:
        return f"{self.event} -> {self.workflow}"


class DependencyCondition(models.TextChoices):
    COMPLETED = "completed"
    FAILED = "failed"
    FINISHED = "finished"


class WorkflowDependency(models.Model):
    """One entry of a workflow's `settings.dependencies`: the dependent starts once every
    upstream has reached its condition since the dependent's last dependency run.

    The upstream is held by name, so a dependency may name a workflow that is created later.
    `satisfied_by` is the upstream execution that met the condition since that last run.
    """

    dependent = models.ForeignKey(Workflow, on_delete=models.CASCADE,
                                  related_name="dependencies")
    upstream_namespace = models.CharField(max_length=100)
    upstream_name = models.CharField(max_length=100)
    condition = models.CharField(max_length=10, choices=DependencyCondition.choices,
                                 default=DependencyCondition.COMPLETED)
    satisfied_by = models.ForeignKey("executions.Execution", null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    satisfied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["dependent", "upstream_namespace", "upstream_name"]
        constraints = [
            models.UniqueConstraint(fields=["dependent", "upstream_namespace", "upstream_name"],
                                    name="dependency_unique"),
        ]
        indexes = [models.Index(fields=["upstream_namespace", "upstream_name"],
                                name="dependency_upstream_idx")]

    def __str__(self) -> str:
        return f"{self.dependent} after {self.upstream_namespace}/{self.upstream_name}"
