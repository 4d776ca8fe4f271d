"""The shared draft of a workflow: opening it (seeded from the current version), appending
its editors' updates, compacting them, merging versions saved outside it, recording its
validation report, and publishing it as the next version.

Every change is committed before it is sent to anyone: an edit another person sees is an
edit the platform keeps. docs/collaboration.md, "Co-editing the draft".
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.db.models.functions import Length
from django.utils import timezone
from pycrdt import Doc

from collaboration.documents import document_apply
from collaboration.errors import DraftFullError, DraftInvalidError
from collaboration.models import Draft, DraftUpdate, EventKind
from collaboration.protocol import EMPTY_UPDATE
from collaboration.selectors import draft_document, draft_validate
from collaboration.services.events import event_record
from collaboration.services.live import group_send
from workflows.definitions import definition_normalize
from workflows.definitions.problems import edge_label
from workflows.models import Workflow, WorkflowVersion
from workflows.services import workflow_update


def draft_group(workflow_id: Any) -> str:
    """The Channels group of a workflow's draft sockets (binary, Yjs's protocol)."""
    return f"collaboration.draft.{workflow_id}"


def _update_send(workflow_id: Any, seq: int, update: bytes, sender: str) -> None:
    group_send(workflow_id, {"type": "draft.update", "seq": seq, "update": update,
                             "sender": sender}, group=draft_group(workflow_id))


def _definition(version: WorkflowVersion | None) -> dict[str, Any]:
    return version.definition if version is not None else {"nodes": [], "edges": []}


def draft_open(*, workflow: Workflow) -> Draft:
    """The workflow's draft, created from its current version the first time, with any
    version saved outside it since merged in (`draft_reconcile`)."""
    draft = Draft.objects.filter(workflow=workflow).first()
    if draft is None:
        current = workflow.current_version
        doc = Doc()
        document_apply(doc, {}, _definition(current))
        try:
            with transaction.atomic():
                draft = Draft.objects.create(
                    workflow=workflow, snapshot=doc.get_update(),
                    base_version=current.number if current else None)
        except IntegrityError:  # another process created it first
            draft = Draft.objects.get(workflow=workflow)
    draft_reconcile(workflow=workflow)
    draft.refresh_from_db()
    return draft


def _append(draft: Draft, update: bytes, author: Any, *, co_author: bool = True) -> int:
    """Number and store an update of a draft locked by the caller; returns its number.
    Its author becomes a co-author of the next version unless `co_author` is false."""
    draft.last_seq += 1
    draft.updated_at = timezone.now()
    fields = ["last_seq", "updated_at"]
    if co_author and author is not None and author.pk not in draft.authors:
        draft.authors = [*draft.authors, author.pk]
        fields.append("authors")
    draft.save(update_fields=fields)
    DraftUpdate.objects.create(draft=draft, seq=draft.last_seq, data=update, author=author)
    return draft.last_seq


def draft_update_append(*, workflow_id: Any, update: bytes, author: Any, sender: str = ""
                        ) -> int:
    """Store an editor's update of the draft and, once committed, send it to every draft
    socket of the workflow; returns the update's number. Compacts the draft when
    `COLLABORATION_DRAFT_COMPACT_EVERY` updates have gathered since the last compaction."""
    with transaction.atomic():
        draft = Draft.objects.select_for_update().get(workflow_id=workflow_id)
        pending = draft.updates.aggregate(size=Sum(Length("data")))["size"] or 0
        size = len(draft.snapshot) + pending + len(update)
        if size > settings.COLLABORATION_DRAFT_MAX_BYTES:
            raise DraftFullError(
                f"The draft would hold {size} bytes, more than "
                f"{settings.COLLABORATION_DRAFT_MAX_BYTES}: publish or remove something "
                "first.", details={"max_bytes": settings.COLLABORATION_DRAFT_MAX_BYTES})
        seq = _append(draft, update, author)
        transaction.on_commit(lambda: _update_send(workflow_id, seq, update, sender))
        due = draft.last_seq - draft.compacted_seq >= settings.COLLABORATION_DRAFT_COMPACT_EVERY
    if due:
        draft_compact(workflow_id=workflow_id)
    return seq


def draft_compact(*, workflow_id: Any) -> None:
    """Merge the draft's updates into its snapshot (deleted content is dropped) and remove
    them: loading the draft then reads one row."""
    with transaction.atomic():
        draft = Draft.objects.select_for_update().get(workflow_id=workflow_id)
        doc, seq = draft_document(draft=draft)
        draft.snapshot = doc.get_update()
        draft.compacted_seq = seq
        draft.save(update_fields=["snapshot", "compacted_seq"])
        draft.updates.filter(seq__lte=seq).delete()


def draft_reconcile(*, workflow: Workflow) -> int | None:
    """Merge into the draft a version saved outside it (through the API, a workflow file,
    the admin) since the draft's base version: what that save changed from the base is
    written into the draft key by key, so the editors' other changes stay. The merge is an
    update of the draft like any other (sent to its sockets) and an `edited` event says so.
    Returns the merged version's number, or None when there was nothing to merge."""
    with transaction.atomic():
        draft = Draft.objects.select_for_update().filter(workflow=workflow).first()
        current = (WorkflowVersion.objects.select_related("author").filter(
            pk=Workflow.objects.filter(pk=workflow.pk).values("current_version_id")[:1])
            .first() if draft is not None else None)
        if current is None or (draft.base_version or 0) >= current.number:
            return None
        base = (WorkflowVersion.objects.filter(workflow=workflow, number=draft.base_version)
                .first() if draft.base_version else None)
        doc, _ = draft_document(draft=draft)
        before = doc.get_state()
        document_apply(doc, _definition(base), current.definition)
        update = doc.get_update(before)
        # The version's author wrote that version; the draft's next one is not theirs.
        seq = _append(draft, update, current.author, co_author=False)
        draft.base_version = current.number
        draft.save(update_fields=["base_version"])
        transaction.on_commit(lambda: _update_send(workflow.pk, seq, update, ""))
        _, report = draft_validate(doc=doc)
        _report_keep(draft, seq, report.as_dict())
        event_record(workflow=workflow, kind=EventKind.EDITED, user=current.author,
                     data={"merged_version": current.number, "via": "version"})
    return current.number


def _report_keep(draft: Draft, seq: int, report: dict[str, Any]) -> None:
    """Keep the report of the draft (locked by the caller) as of update `seq` and send it
    once committed: an update the server writes itself is validated at once."""
    draft.report, draft.report_seq = report, seq
    draft.save(update_fields=["report", "report_seq"])
    transaction.on_commit(lambda: group_send(
        draft.workflow_id, {"type": "draft.problems", "seq": seq, "report": report}))


def draft_report_save(*, workflow_id: Any, seq: int, report: dict[str, Any]) -> bool:
    """Keep the draft's validation report as of update `seq` and send it to the workflow's
    sockets, unless a report of a later update is kept already (several web processes
    validate the same draft); True when this one was kept."""
    kept = Draft.objects.filter(workflow_id=workflow_id, report_seq__lt=seq).update(
        report=report, report_seq=seq)
    if kept:
        group_send(workflow_id, {"type": "draft.problems", "seq": seq, "report": report})
    return bool(kept)


def _same_graph(first: dict[str, Any], second: dict[str, Any]) -> bool:
    """Whether two definitions hold the same, whatever the order of their nodes and edges
    (a draft lists its edges by label, a version as they were saved)."""
    def ordered(definition: dict[str, Any]) -> str:
        nodes = sorted(definition.get("nodes") or [], key=lambda node: str(node.get("id")))
        edges = sorted(definition.get("edges") or [], key=edge_label)
        return json.dumps({**definition, "nodes": nodes, "edges": edges}, sort_keys=True)

    return ordered(first) == ordered(second)


def draft_publish(*, workflow: Workflow, actor: Any, change_note: str = ""
                  ) -> tuple[Workflow, WorkflowVersion | None]:
    """Turn the draft into the workflow's next version, with everyone who edited it since
    it was last published as the version's co-authors, and record a `published` event.
    Refused with the draft's problems when it is invalid; returns the workflow and the new
    version (None when the draft holds what the current version holds)."""
    draft_open(workflow=workflow)
    with transaction.atomic():
        draft = Draft.objects.select_for_update().get(workflow=workflow)
        doc, _ = draft_document(draft=draft)
        definition, report = draft_validate(doc=doc)
        if not report.ok:
            raise DraftInvalidError(report)
        current = WorkflowVersion.objects.filter(
            pk=Workflow.objects.filter(pk=workflow.pk).values("current_version_id")[:1]).first()
        if current is not None and _same_graph(definition_normalize(definition),
                                               current.definition):
            return workflow, None
        workflow, created = workflow_update(
            workflow=workflow, actor=actor, definition=definition,
            change_note=change_note or "Published from the draft",
            base_version=draft.base_version)
        if not created:
            return workflow, None
        version = workflow.current_version
        authors = list(get_user_model().objects.filter(pk__in=draft.authors))
        version.co_authors.set(authors)
        draft.base_version = version.number
        draft.authors = []
        draft.save(update_fields=["base_version", "authors"])
        # The version holds the defaults its save wrote out: so does the draft from now on.
        before = doc.get_state()
        document_apply(doc, definition, version.definition)
        update = doc.get_update(before)
        if update != EMPTY_UPDATE:
            seq = _append(draft, update, actor, co_author=False)
            transaction.on_commit(lambda: _update_send(workflow.pk, seq, update, ""))
            _report_keep(draft, seq, report.as_dict())
        event_record(workflow=workflow, kind=EventKind.PUBLISHED, user=actor, data={
            "version": version.number, "change_note": version.change_note,
            "co_authors": sorted(author.get_username() for author in authors)})
    return workflow, version
