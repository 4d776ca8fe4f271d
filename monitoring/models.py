"""The audit log: who did what to which object, before and after, from where."""

from django.conf import settings
from django.db import models


class AuditAction(models.TextChoices):
    CREATE = "create", "Create"
    UPDATE = "update", "Update"
    DELETE = "delete", "Delete"
    IMPORT = "import", "Import"
    LOGIN = "login", "Log in"
    LOGIN_FAILED = "login_failed", "Failed log in"
    LOGOUT = "logout", "Log out"
    PERMISSION_DENIED = "permission_denied", "Permission denied"
    ROTATE = "rotate", "Rotate key"
    RESET = "reset", "Reset"


class AuditLog(models.Model):
    """One recorded change; written in the same transaction as the change itself."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    actor_repr = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=20, choices=AuditAction.choices)
    object_type = models.CharField(max_length=50)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    correlation_id = models.CharField(max_length=128, blank=True, db_index=True)
    client_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["object_type", "object_id"], name="audit_object_idx"),
            models.Index(fields=["actor", "-created_at"], name="audit_actor_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.actor_repr or 'system'} {self.action} {self.object_type} {self.object_repr}"


# The run-time histogram of the rollups: (column, upper bound in seconds), each column
# counting the run times from the previous bound (included) to its own (excluded).
ROLLUP_HISTOGRAM: tuple[tuple[str, float], ...] = (
    ("under_100ms", 0.1), ("under_500ms", 0.5), ("under_1s", 1.0), ("under_2_5s", 2.5),
    ("under_5s", 5.0), ("under_10s", 10.0), ("under_30s", 30.0), ("under_1m", 60.0),
    ("under_5m", 300.0), ("under_15m", 900.0), ("under_1h", 3600.0),
    ("over_1h", float("inf")),
)


class ExecutionRollup(models.Model):
    """The executions of one workflow that ended in one minute with one terminal status:
    how many, and how long they ran (sum, maximum and a histogram). Written every minute
    by `monitoring.tasks.rollups_write` from the executions table, so the dashboard's
    history needs no Prometheus and costs the engine nothing while it runs."""

    minute = models.DateTimeField(help_text="Start of the minute (UTC) they ended in.")
    workflow = models.ForeignKey("workflow.Workflow", on_delete=models.CASCADE,
                                 related_name="+")
    status = models.CharField(max_length=12)
    count = models.PositiveIntegerField(default=0)
    measured = models.PositiveIntegerField(
        default=0, help_text="How many had started (the others have no run time).")
    duration_sum_ms = models.FloatField(default=0.0)
    duration_max_ms = models.FloatField(default=0.0)
    under_100ms = models.PositiveIntegerField(default=0)
    under_500ms = models.PositiveIntegerField(default=0)
    under_1s = models.PositiveIntegerField(default=0)
    under_2_5s = models.PositiveIntegerField(default=0)
    under_5s = models.PositiveIntegerField(default=0)
    under_10s = models.PositiveIntegerField(default=0)
    under_30s = models.PositiveIntegerField(default=0)
    under_1m = models.PositiveIntegerField(default=0)
    under_5m = models.PositiveIntegerField(default=0)
    under_15m = models.PositiveIntegerField(default=0)
    under_1h = models.PositiveIntegerField(default=0)
    over_1h = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-minute"]
        constraints = [
            models.UniqueConstraint(fields=["minute", "workflow", "status"],
                                    name="execution_rollup_unique"),
        ]
        indexes = [models.Index(fields=["workflow", "minute"], name="execution_rollup_wf_idx")]

    def __str__(self) -> str:
        return f"{self.minute:%Y-%m-%d %H:%M} {self.workflow_id} {self.status}: {self.count}"


class RollupMark(models.Model):
    """Up to when (excluded) the rollups have been written; one row, locked by the writer
    so two writers (during a beat failover) take turns."""

    name = models.CharField(max_length=50, primary_key=True)
    until = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name}: {self.until}"
