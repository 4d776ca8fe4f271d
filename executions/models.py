"""The durable state of executions: the execution, one row per node run, and its log."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from workflows.models import Workflow, WorkflowVersion


class ExecutionStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    WAITING = "waiting", "Waiting"
    PAUSED = "paused", "Paused"
    SUSPENDED = "suspended", "Suspended"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


EXECUTION_ACTIVE = (ExecutionStatus.PENDING, ExecutionStatus.RUNNING)
EXECUTION_WAITING = (ExecutionStatus.WAITING, ExecutionStatus.PAUSED, ExecutionStatus.SUSPENDED)
EXECUTION_TERMINAL = (ExecutionStatus.COMPLETED, ExecutionStatus.FAILED, ExecutionStatus.CANCELLED)
# Its nodes move on (neither pending, paused, suspended nor ended): a deadline, a child's
# end or a wait's timeout acts on it.
EXECUTION_ADVANCING = (ExecutionStatus.RUNNING, ExecutionStatus.WAITING)
# Held by a person or by the platform until resumed.
EXECUTION_HELD = (ExecutionStatus.PAUSED, ExecutionStatus.SUSPENDED)
# Started and not ended: it holds one of its workflow's concurrency slots.
EXECUTION_STARTED = (*EXECUTION_ADVANCING, *EXECUTION_HELD)

# The moves the contract allows (section 2, "Statuses"); everything else is refused.
EXECUTION_TRANSITIONS: dict[str, frozenset[str]] = {
    ExecutionStatus.PENDING: frozenset({ExecutionStatus.RUNNING, ExecutionStatus.CANCELLED,
                                        ExecutionStatus.FAILED}),
    ExecutionStatus.RUNNING: frozenset({
        ExecutionStatus.WAITING, ExecutionStatus.PAUSED, ExecutionStatus.SUSPENDED,
        ExecutionStatus.COMPLETED, ExecutionStatus.FAILED, ExecutionStatus.CANCELLED,
    }),
    ExecutionStatus.WAITING: frozenset({ExecutionStatus.RUNNING, ExecutionStatus.PAUSED,
                                        ExecutionStatus.CANCELLED, ExecutionStatus.FAILED}),
    ExecutionStatus.PAUSED: frozenset({ExecutionStatus.RUNNING, ExecutionStatus.CANCELLED}),
    ExecutionStatus.SUSPENDED: frozenset({ExecutionStatus.RUNNING, ExecutionStatus.CANCELLED}),
    ExecutionStatus.FAILED: frozenset({ExecutionStatus.RUNNING}),
    ExecutionStatus.COMPLETED: frozenset(),
    ExecutionStatus.CANCELLED: frozenset(),
}


class NodeStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    RETRYING = "retrying", "Retrying"
    WAITING = "waiting", "Waiting"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"
    CANCELLED = "cancelled", "Cancelled"


# Its successors may go on (a completed node's active edges; a skipped node's skips).
NODE_FINISHED = (NodeStatus.COMPLETED, NodeStatus.SKIPPED)
# Ended by itself, not by a cancellation: its output (or its absence) is final.
NODE_SETTLED = (NodeStatus.COMPLETED, NodeStatus.SKIPPED, NodeStatus.FAILED)
NODE_TERMINAL = (NodeStatus.COMPLETED, NodeStatus.SKIPPED, NodeStatus.FAILED,
                 NodeStatus.CANCELLED)
# Not ended: the execution cannot finish while one is left.
NODE_OPEN = (NodeStatus.PENDING, NodeStatus.RUNNING, NodeStatus.RETRYING, NodeStatus.WAITING)

# The moves of a node run, beside the execution's. A run is taken (pending or due for a
# retry, or running again when its lease expired or its message came back), ends in one of
# the terminal statuses or waits on a bookmark; anything open is cancelled with its
# execution. Every status may go back to pending: a retry, a retry from a node or the
# resume of a suspended execution runs the node afresh. Everything else is refused.
NODE_TRANSITIONS: dict[str, frozenset[str]] = {
    NodeStatus.PENDING: frozenset({NodeStatus.PENDING, NodeStatus.RUNNING, NodeStatus.SKIPPED,
                                   NodeStatus.CANCELLED}),
    NodeStatus.RETRYING: frozenset({NodeStatus.PENDING, NodeStatus.RUNNING,
                                    NodeStatus.CANCELLED}),
    NodeStatus.RUNNING: frozenset({NodeStatus.PENDING, NodeStatus.RUNNING, NodeStatus.COMPLETED,
                                   NodeStatus.RETRYING, NodeStatus.FAILED, NodeStatus.WAITING,
                                   NodeStatus.CANCELLED}),
    NodeStatus.WAITING: frozenset({NodeStatus.PENDING, NodeStatus.COMPLETED, NodeStatus.FAILED,
                                   NodeStatus.CANCELLED}),
    NodeStatus.COMPLETED: frozenset({NodeStatus.PENDING}),
    NodeStatus.SKIPPED: frozenset({NodeStatus.PENDING}),
    NodeStatus.FAILED: frozenset({NodeStatus.PENDING}),
    NodeStatus.CANCELLED: frozenset({NodeStatus.PENDING}),
}


def node_sources(to: str) -> tuple[str, ...]:
    """The statuses a node run may move to `to` from (NODE_TRANSITIONS)."""
    return tuple(status for status, targets in NODE_TRANSITIONS.items() if to in targets)
# Due to be taken by a node task.
NODE_QUEUED = (NodeStatus.PENDING, NodeStatus.RETRYING)
# An attempt runs or is due again: the execution is not only waiting.
NODE_IN_FLIGHT = (NodeStatus.RUNNING, NodeStatus.RETRYING)


class Priority(models.TextChoices):
    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


BROKER_PRIORITY = {Priority.LOW: 2, Priority.NORMAL: 5, Priority.HIGH: 8, Priority.CRITICAL: 10}


class Execution(models.Model):
    """One run of a pinned workflow version."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workflow = models.ForeignKey(Workflow, on_delete=models.PROTECT, related_name="executions")
    version = models.ForeignKey(
        WorkflowVersion, on_delete=models.PROTECT, related_name="executions"
    )
    status = models.CharField(
        max_length=12, choices=ExecutionStatus.choices, default=ExecutionStatus.PENDING
    )
    input = models.JSONField(default=dict, blank=True)
    output = models.JSONField(null=True, blank=True)
    error = models.JSONField(null=True, blank=True)
    variables = models.JSONField(default=dict, blank=True)
    priority = models.CharField(max_length=8, choices=Priority.choices, default=Priority.NORMAL)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )
    parent_node = models.CharField(
        max_length=64, blank=True, help_text="The Loop or Subworkflow node that started it."
    )
    parent_bookmark = models.ForeignKey(
        "Bookmark", null=True, blank=True, on_delete=models.SET_NULL, related_name="children",
        help_text="The wait of the parent's node that started it, and that it reports to.",
    )
    root = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="The top-level execution of its tree of children; empty for a top one.",
    )
    depth = models.PositiveIntegerField(
        default=0, help_text="0 for a top-level execution, its parent's depth + 1 for a child."
    )
    children_count = models.PositiveIntegerField(
        default=0,
        help_text="Children its Loop and Subworkflow nodes have started or will start.",
    )
    descendants_count = models.PositiveIntegerField(
        default=0,
        help_text="For a top-level execution: executions its whole tree has started or "
        "will start.",
    )
    reported_at = models.DateTimeField(
        null=True, blank=True, help_text="When a child's terminal status reached its parent.",
    )
    graph_path = models.CharField(
        max_length=200, blank=True,
        help_text="For a Loop's inline body: the loop node's id; the run's graph is that body.",
    )
    item = models.JSONField(null=True, blank=True, help_text="A loop iteration's `item`.")
    item_index = models.PositiveIntegerField(null=True, blank=True)
    compensation = models.JSONField(
        null=True, blank=True,
        help_text="While compensating after a failure: the error and the nodes still to run.",
    )
    trigger = models.CharField(max_length=20, default="api")
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    idempotency_key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    correlation_id = models.CharField(max_length=128, blank=True)
    lock_version = models.PositiveIntegerField(
        default=0, help_text="Optimistic concurrency: every status change increments it."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    deadline = models.DateTimeField(null=True, blank=True)
    dependents_notified_at = models.DateTimeField(
        null=True, blank=True,
        help_text="When the workflows depending on this one learned of its end; empty while "
                  "that is still to be done (docs/dependencies.md).",
    )
    timeout = models.PositiveIntegerField(
        null=True, blank=True,
        help_text="Seconds for the whole run when its trigger overrides the workflow's timeout.",
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # The default ordering of GET /api/executions: a page is an index range scan.
            models.Index(fields=["-created_at"], name="execution_created_idx"),
            models.Index(fields=["workflow", "-created_at"], name="execution_workflow_idx"),
            models.Index(fields=["status", "-created_at"], name="execution_status_idx"),
            models.Index(fields=["status", "deadline"], name="execution_deadline_idx"),
            # The sweeper's pass over children whose end has not reached their parent:
            # only those rows are in it (a child is recorded a moment after it ends).
            models.Index(fields=["finished_at"], name="execution_unreported_idx",
                         condition=models.Q(parent__isnull=False, reported_at__isnull=True)),
            # The sweeper's pass over ended runs whose dependents have not been told yet.
            models.Index(fields=["finished_at"], name="execution_unnotified_idx",
                         condition=models.Q(parent__isnull=True, finished_at__isnull=False,
                                            dependents_notified_at__isnull=True)),
            # The rollups' pass over the executions that ended in the last minutes
            # (monitoring/services.py): a range scan, however many executions are kept.
            models.Index(fields=["finished_at"], name="execution_finished_idx",
                         condition=models.Q(finished_at__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.workflow} #{str(self.id)[:8]} ({self.status})"


class NodeExecution(models.Model):
    """One node's run inside an execution (one row per node and loop iteration)."""

    execution = models.ForeignKey(Execution, on_delete=models.CASCADE, related_name="nodes")
    node_id = models.CharField(max_length=64)
    iteration = models.CharField(
        max_length=200, blank=True, default="",
        help_text="The path of loop iterations this run belongs to; empty outside loops.",
    )
    node_type = models.CharField(max_length=100)
    status = models.CharField(max_length=10, choices=NodeStatus.choices, default=NodeStatus.PENDING)
    attempt = models.PositiveIntegerField(default=0)
    input = models.JSONField(null=True, blank=True)
    output = models.JSONField(null=True, blank=True)
    branch = models.CharField(max_length=100, blank=True)
    error = models.JSONField(null=True, blank=True)
    dispatched_at = models.DateTimeField(
        null=True, blank=True,
        help_text="When its task was last sent; the sweeper resends lost ones.",
    )
    lease_expires_at = models.DateTimeField(
        null=True, blank=True, help_text="A running attempt past this is presumed lost."
    )
    retry_at = models.DateTimeField(null=True, blank=True, help_text="When a retry is due.")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["execution", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["execution", "node_id", "iteration"], name="node_execution_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["execution", "status"], name="node_execution_status_idx"),
            models.Index(fields=["status", "lease_expires_at"], name="node_execution_lease_idx"),
            models.Index(fields=["status", "retry_at"], name="node_execution_retry_idx"),
            models.Index(fields=["status", "dispatched_at"], name="node_execution_dispatch_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.node_id} ({self.status})"


class ExecutionLog(models.Model):
    """A state change or a message of an execution: what, who, when."""

    execution = models.ForeignKey(Execution, on_delete=models.CASCADE, related_name="logs")
    node_id = models.CharField(max_length=64, blank=True)
    level = models.CharField(max_length=10, default="info")
    event = models.CharField(max_length=40)
    message = models.TextField(blank=True)
    data = models.JSONField(null=True, blank=True)
    actor = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["execution", "id"]
        indexes = [models.Index(fields=["execution", "id"], name="execution_log_idx")]

    def __str__(self) -> str:
        return f"{self.event} {self.node_id}".strip()


class BookmarkKind(models.TextChoices):
    TIMER = "timer", "Timer"
    USER_ACTION = "user_action", "User action"
    MESSAGE = "message", "External message"
    WEBHOOK = "webhook", "Webhook"
    SUBWORKFLOW = "subworkflow", "Subworkflow"


class BookmarkStatus(models.TextChoices):
    OPEN = "open", "Open"
    RESUMED = "resumed", "Resumed"
    CLOSED = "closed", "Closed"


class Bookmark(models.Model):
    """A waiting node: what resumes it (a time, a person, a message, a call) and who did."""

    execution = models.ForeignKey(Execution, on_delete=models.CASCADE, related_name="bookmarks")
    node_id = models.CharField(max_length=64)
    iteration = models.CharField(max_length=200, blank=True, default="")
    kind = models.CharField(max_length=12, choices=BookmarkKind.choices)
    status = models.CharField(
        max_length=8, choices=BookmarkStatus.choices, default=BookmarkStatus.OPEN
    )
    token = models.CharField(max_length=64, unique=True)
    key = models.CharField(
        max_length=300, blank=True, help_text="Message type and correlation key, for messages."
    )
    due_at = models.DateTimeField(null=True, blank=True)
    assignee = models.CharField(max_length=150, blank=True)
    request = models.JSONField(
        default=dict, blank=True, help_text="What the waiting node asks: prompt, form, outcomes."
    )
    resumed_by = models.CharField(max_length=150, blank=True)
    resumed_with = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    resumed_at = models.DateTimeField(null=True, blank=True)
    fire_lease_until = models.DateTimeField(
        null=True, blank=True,
        help_text="A due bookmark handed out to a worker is not handed out again before this.",
    )
    # A Loop or Subworkflow wait's progress, in two counters: each child's completion is
    # one small update, whatever the size of its items; the per-item state is the child
    # executions' own rows.
    children_started = models.PositiveIntegerField(default=0)
    children_completed = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["execution", "node_id", "iteration"], name="bookmark_unique_open",
                condition=models.Q(status="open"),
            ),
        ]
        indexes = [
            models.Index(fields=["status", "due_at"], name="bookmark_due_idx"),
            models.Index(fields=["status", "kind", "key"], name="bookmark_key_idx"),
            models.Index(fields=["status", "assignee"], name="bookmark_assignee_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.node_id} ({self.status})"


class ExternalCallStatus(models.TextChoices):
    INTENT = "intent", "Intent recorded"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"


class ExternalCall(models.Model):
    """A side effect in two phases: the intent with its idempotency key is committed before
    the call, the result after; a redelivered attempt that finds it completed reuses it."""

    execution = models.ForeignKey(
        Execution, on_delete=models.CASCADE, related_name="external_calls"
    )
    node_id = models.CharField(max_length=64)
    iteration = models.CharField(max_length=200, blank=True, default="")
    idempotency_key = models.CharField(max_length=200, unique=True)
    status = models.CharField(
        max_length=10, choices=ExternalCallStatus.choices, default=ExternalCallStatus.INTENT
    )
    request = models.JSONField(default=dict, blank=True)
    response = models.JSONField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["execution", "node_id"], name="external_call_node_idx")]

    def __str__(self) -> str:
        return f"{self.node_id} {self.idempotency_key} ({self.status})"


class Counter(models.Model):
    """A named counter for Counter nodes, incremented atomically in the database."""

    scope = models.CharField(max_length=64, help_text="'global' or a workflow id.")
    name = models.CharField(max_length=100)
    value = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "name"], name="counter_unique_name"),
        ]

    def __str__(self) -> str:
        return f"{self.scope}/{self.name} = {self.value}"


class OutboxEvent(models.Model):
    """An execution event to publish, written in the transaction of the change it reports.

    The dispatcher sends it to the `workflow.events` exchange and to the live websocket
    group after the commit; a failed send is retried with backoff, and after too many
    attempts the event is dead: kept with its last error for an operator to see.
    """

    execution = models.ForeignKey(
        Execution, on_delete=models.CASCADE, related_name="outbox_events"
    )
    event = models.CharField(max_length=40)
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)
    dead = models.BooleanField(default=False)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            # The dispatcher walks this in id order (`ORDER BY id LIMIT n`), due-ness a
            # filter: a plain index scan, which marks the entries of events published since
            # (dead row versions) as dead for the next scan, so its cost stays flat between
            # vacuums. An index led by `next_attempt_at` is read as a bitmap, which never
            # marks them: it read every event published since the last vacuum, every batch.
            models.Index(fields=["id"], name="outbox_pending_idx",
                         condition=models.Q(published_at__isnull=True, dead=False)),
            models.Index(fields=["published_at"], name="outbox_published_idx",
                         condition=models.Q(published_at__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.event} {self.execution_id} ({self.state})"

    @property
    def state(self) -> str:
        if self.published_at is not None:
            return "published"
        return "dead" if self.dead else "pending"
