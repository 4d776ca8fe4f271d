"""Answering a person's wait in the admin, and an execution's page: outputs, log, exact
times; on a real worker."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from executions.models import Bookmark
from tests.engine import node_states, wait_for
from tests.executions.test_waits import APPROVAL, start, transform, waiting

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True),
              pytest.mark.usefixtures("worker")]

ISO_US = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00"


@pytest.fixture
def approval():
    """An execution waiting on an approval for role:manager before two branches."""
    return waiting(start("admin-approval", [
        APPROVAL, transform("ship", "shipped"), transform("refund", "refunded"),
    ], [("approve", "ship", "approved"), ("approve", "refund", "rejected")], {"order": 7}))


def staff(user_factory, username: str, groups: list[str] = ()) -> Client:
    user = user_factory(username=username, is_staff=True)
    for name in groups:
        user.groups.add(Group.objects.get_or_create(name=name)[0])
    client = Client()
    client.force_login(user)
    return client


def test_the_assignee_answers_an_approval_in_the_admin(user_factory, approval):
    # given a manager (staff, in the role, without any workflow permission)
    manager = staff(user_factory, "boss", ["manager"])
    bookmark = Bookmark.objects.get(execution=approval)
    # when the manager opens the execution's page
    page = manager.get(f"/admin/executions/bookmark/{bookmark.pk}/change/")
    assert page.status_code == 200
    answer_url = f"/admin/executions/bookmark/{bookmark.pk}/answer/"
    assert answer_url in page.content.decode()
    # then the answer page asks the prompt with the outcomes and the form's schema
    form = manager.get(answer_url).content.decode()
    assert "Approve order 7?" in form and 'value="approved"' in form
    assert 'value="rejected"' in form and "comment" in form
    # when the answer does not fill the form, it is refused and the wait stays open
    refused = manager.post(answer_url, {"outcome": "approved", "payload": '{"comment": 5}'})
    assert refused.status_code == 200 and "does not fill the form" in refused.content.decode()
    not_json = manager.post(answer_url, {"outcome": "approved", "payload": "{oops"})
    assert not_json.status_code == 200
    assert Bookmark.objects.get(pk=bookmark.pk).status == "open"
    # when the manager rejects with a comment
    done = manager.post(answer_url, {"outcome": "rejected", "payload": '{"comment": "no"}'})
    # then the rejected branch runs, answered by the manager as over the API
    assert done.status_code == 302
    execution = wait_for(approval)
    assert execution.status == "completed" and execution.output == {"refund": "refunded"}
    assert node_states(execution)["ship"] == "skipped"
    approve = execution.nodes.get(node_id="approve")
    assert approve.output == {"outcome": "rejected", "response": {"comment": "no"}, "by": "boss"}
    # and answering again is refused
    again = manager.post(answer_url, {"outcome": "approved", "payload": "{}"})
    assert again.status_code == 302 and Bookmark.objects.get(pk=bookmark.pk).resumed_by == "boss"


def test_only_the_assignee_or_an_executor_may_answer(user_factory, approval):
    bookmark = Bookmark.objects.get(execution=approval)
    answer_url = f"/admin/executions/bookmark/{bookmark.pk}/answer/"
    # given a staff user who may read workflows but is neither assignee nor executor
    reader = staff(user_factory, "reader", ["workflow-viewers"])
    # when they try to answer, they are refused and the wait stays open
    assert reader.get(answer_url).status_code == 403
    assert reader.post(answer_url, {"outcome": "approved", "payload": "{}"}).status_code == 403
    # and a staff user outside the role does not even see the wait
    stranger = staff(user_factory, "stranger")
    assert stranger.get(answer_url).status_code == 404
    assert Bookmark.objects.get(pk=bookmark.pk).status == "open"
    # given an operator (workflow.execute), the answer goes through
    operator = staff(user_factory, "ops", ["workflow-operators"])
    assert operator.post(answer_url, {"outcome": "approved", "payload": "{}"}).status_code == 302
    assert wait_for(approval).output == {"ship": "shipped"}


def test_the_execution_page_shows_outputs_the_log_and_exact_times(user_factory):
    # given a completed execution
    execution = wait_for(start("admin-page", [
        transform("first", {"total": 42}),
        {"id": "log", "type": "Logger", "data": {"level": "info", "message": "logged it"}},
    ], [("first", "log")]))
    operator = staff(user_factory, "ops", ["workflow-operators"])
    # when an operator opens its page
    page = operator.get(f"/admin/executions/execution/{execution.pk}/change/").content.decode()
    # then it shows each node's output, the log entries and times to the millisecond
    assert "&quot;total&quot;: 42" in page
    assert "logged it" in page and "execution.completed" in page
    assert execution.started_at.isoformat() in page
    assert execution.nodes.get(node_id="log").finished_at.isoformat() in page
    assert len(re.findall(ISO_US, page)) >= 6
