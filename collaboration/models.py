"""What a workflow's collaborators share: its key/value state and its event stream.

Presence (who has the workflow open now) is not here: it lives in Redis with a time to
live (`collaboration/selectors.py`). What is here is durable: the shared state a team
keeps beside a workflow, and the events of their work on it, numbered per workflow so a
client that was away resumes where it stopped (`?after=<seq>`).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from workflows.models import Workflow


class PresenceStatus(models.TextChoices):
    """What someone present says of themselves (their presence entry, not a column)."""

    ONLINE = "online"
    AWAY = "away"
    BUSY = "busy"


class EventKind(models.TextChoices):
    JOINED = "joined"
    LEFT = "left"
    EDITED = "edited"
    PUBLISHED = "published"
    COMMENTED = "commented"
    STATE_CHANGED = "state_changed"
    MESSAGE = "message"


# The kinds a client may post itself; the others are recorded by the platform when the
# thing they name happens.
EVENT_KINDS_POSTED = (EventKind.MESSAGE,)


class Room(models.Model):
    """A workflow's collaboration record: the last event number given out.

    An event takes the next number by updating this row in its own transaction, so the
    numbers of one workflow are given out, and committed, one after the other: a reader
    that has seen event n never later finds an n - 1 it missed.
    """

    workflow = models.OneToOneField(Workflow, primary_key=True, on_delete=models.CASCADE,
                                    related_name="collaboration_room")
    last_seq = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.workflow} (event {self.last_seq})"


class CollaborationEvent(models.Model):
    """Something that happened in a workflow's collaboration, numbered per workflow."""

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE,
                                 related_name="collaboration_events")
    seq = models.BigIntegerField()
    kind = models.CharField(max_length=20, choices=EventKind.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                             on_delete=models.SET_NULL, related_name="+")
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["workflow", "seq"]
        constraints = [models.UniqueConstraint(fields=["workflow", "seq"],
                                               name="collaboration_event_seq_unique")]

    def __str__(self) -> str:
        return f"{self.workflow} #{self.seq} {self.kind}"


class SharedState(models.Model):
    """One key of a workflow's shared state: a JSON value with a version that each write
    increments (a writer may name the version it read, and is refused when another write
    came first)."""

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE,
                                 related_name="shared_state")
    key = models.CharField(max_length=200)
    value = models.JSONField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["workflow", "key"]
        constraints = [models.UniqueConstraint(fields=["workflow", "key"],
                                               name="collaboration_state_key_unique")]

    def __str__(self) -> str:
        return f"{self.workflow}: {self.key}"


class Draft(models.Model):
    """A workflow's draft: the document its editors change together before it is published
    as the next version (`collaboration/documents.py` has its shape).

    Stored as a compacted snapshot (every update up to `compacted_seq`, merged) and the
    updates after it (`DraftUpdate`). An update takes the next number by updating this row
    in its own transaction, so updates commit in number order: a process that has applied
    update n finds every update before it."""

    workflow = models.OneToOneField(Workflow, primary_key=True, on_delete=models.CASCADE,
                                    related_name="draft")
    snapshot = models.BinaryField(default=bytes)
    compacted_seq = models.BigIntegerField(default=0)
    last_seq = models.BigIntegerField(default=0)
    # The version the draft holds besides its editors' changes: it was seeded from it, or a
    # later version saved outside the draft was merged into it, or it was published as it.
    base_version = models.PositiveIntegerField(null=True, blank=True)
    # Who changed the draft since it was last published: the next version's co-authors.
    authors = models.JSONField(default=list, blank=True)
    # The validation report of the draft as of update `report_seq`.
    report = models.JSONField(default=dict, blank=True)
    report_seq = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.workflow} draft (update {self.last_seq})"


class DraftUpdate(models.Model):
    """One change to a draft, in Yjs's update format, kept until the next compaction."""

    draft = models.ForeignKey(Draft, on_delete=models.CASCADE, related_name="updates")
    seq = models.BigIntegerField()
    data = models.BinaryField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["draft", "seq"]
        constraints = [models.UniqueConstraint(fields=["draft", "seq"],
                                               name="collaboration_draft_update_seq_unique")]

    def __str__(self) -> str:
        return f"{self.draft_id} update {self.seq}"


class CommentThread(models.Model):
    """The discussion of one node of a workflow: open, or resolved by someone (a new
    comment opens it again)."""

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE,
                                 related_name="comment_threads")
    node = models.CharField(max_length=100)
    resolved = models.BooleanField(default=False)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["workflow", "node"]
        constraints = [models.UniqueConstraint(fields=["workflow", "node"],
                                               name="collaboration_thread_node_unique")]

    def __str__(self) -> str:
        return f"{self.workflow}: {self.node}"


class Comment(models.Model):
    """One comment in a node's thread."""

    thread = models.ForeignKey(CommentThread, on_delete=models.CASCADE,
                               related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="+")
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["thread", "created_at", "id"]

    def __str__(self) -> str:
        return f"{self.thread} #{self.pk}"
