"""The cost of a wait and of its resume, pinned: the statements sent to the database.

Like tests/executions/test_hot_path.py, each step runs in this process inside the test's
transaction, and the publish of a successor is replaced by a recorder (the only part that
would leave the machine).
"""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext

from executions import dispatch, services
from executions.models import Bookmark
from executions.services import waits
from tests.engine import workflow_from
from tests.executions.test_hot_path import statements

pytestmark = pytest.mark.django_db

# On PostgreSQL (BEGIN/COMMIT and savepoints not counted), see "Timers: handed out to the
# workers" in docs/engine.md; raise them only with a reason written there.
#   wait (a Timer at the graph's only root, its node step included): the claim (2), the
#   execution's lock, the node's move to waiting, the bookmark, its log entry, and the
#   execution's move to waiting (update and log entry); no node rows read.
#   resume: the execution's and the bookmark's locks, the bookmark's update, the log
#   entries with the node's completion, the execution's move to running (2), and the
#   successor's dispatch stamp.
WAIT_STATEMENTS = 8
RESUME_STATEMENTS = 7


def recorded(step) -> tuple[list[str], list[tuple]]:
    published: list[tuple] = []
    with mock.patch.object(dispatch, "publish", side_effect=lambda messages: published.extend(
            message.args for message in messages if message.task == dispatch.NODE_RUN)), \
            CaptureQueriesContext(connection) as captured, \
            TestCase.captureOnCommitCallbacks(execute=True):
        step()
    return statements(captured), published


@pytest.mark.skipif(connection.vendor != "postgresql",
                    reason="the pinned statements are PostgreSQL's (SQLite takes the plain path)")
def test_a_timer_waits_and_resumes_within_its_pinned_statements():
    # given a workflow that starts with a timer, then a Transform
    workflow = workflow_from({
        "name": "pinned-timer", "namespace": "timers",
        "nodes": [{"id": "wait", "type": "Timer", "data": {"at": "2099-01-01T00:00:00+00:00"}},
                  {"id": "work", "type": "Transform", "data": {"template": 1}}],
        "edges": [{"source": "wait", "target": "work"}],
    })
    with mock.patch.object(dispatch, "publish"):
        execution, _ = services.execution_start(workflow=workflow, input={})
    # when its timer node runs, it waits within the pinned cost
    sql, _ = recorded(lambda: services.node_run(execution_id=str(execution.pk),
                                                node_id="wait"))
    assert len(sql) <= WAIT_STATEMENTS, "\n".join(sql)
    execution.refresh_from_db()
    assert execution.status == "waiting"
    # and when the timer fires, the node completes and the Transform is sent, within it
    bookmark = Bookmark.objects.get(execution=execution)
    sql, published = recorded(lambda: waits.bookmark_fire(bookmark))
    assert len(sql) <= RESUME_STATEMENTS, "\n".join(sql)
    assert published == [(str(execution.pk), "work")]
    execution.refresh_from_db()
    assert execution.status == "running"
    rows = {row.node_id: row for row in execution.nodes.all()}
    assert rows["wait"].status == "completed" and rows["wait"].output["fired_at"]
    assert rows["work"].status == "pending" and rows["work"].dispatched_at is not None
    assert list(execution.logs.order_by("id").values_list("event", flat=True))[-3:] == [
        "node.resumed", "node.completed", "execution.running"]
