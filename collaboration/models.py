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
