"""Comments on a workflow's nodes through the API: a thread per node, open or resolved."""

from __future__ import annotations

import pytest

from collaboration.models import CollaborationEvent
from tests.engine import workflow_from

pytestmark = [pytest.mark.django_db]


@pytest.fixture
def workflow(definition):
    return workflow_from(definition(name="discussed"))


def comments(workflow) -> str:
    return f"/api/collaboration/workflows/{workflow.pk}/comments"


def test_a_thread_per_node_with_its_comments_in_order(workflow, editor, viewer, client_for):
    # given a viewer and an editor who discuss the log node, and one note on greet
    first = client_for(viewer).post(comments(workflow), {"node": "log", "body": "Too loud?"},
                                    format="json")
    client_for(editor).post(comments(workflow), {"node": "log", "body": "Set to info."},
                            format="json")
    client_for(editor).post(comments(workflow), {"node": "greet", "body": "Fine."},
                            format="json")
    # when anyone reads the threads
    threads = client_for(viewer).get(comments(workflow)).json()["threads"]
    only_log = client_for(viewer).get(f"{comments(workflow)}?node=log").json()["threads"]
    # then there is one thread per node, its comments oldest first with their authors
    assert first.status_code == 201 and first.json()["author"] == "viewer"
    assert [thread["node"] for thread in threads] == ["greet", "log"]
    assert [(c["author"], c["body"]) for c in only_log[0]["comments"]] == [
        ("viewer", "Too loud?"), ("editor", "Set to info.")]
    assert only_log[0]["resolved"] is False
    # and each comment is a `commented` event
    assert CollaborationEvent.objects.filter(workflow=workflow, kind="commented").count() == 3


def test_a_resolved_thread_opens_again_with_a_new_comment(workflow, editor, client_for):
    api = client_for(editor)
    api.post(comments(workflow), {"node": "log", "body": "Rename it"}, format="json")
    resolved = api.patch(f"{comments(workflow)}/log", {"resolved": True}, format="json")
    open_ones = api.get(f"{comments(workflow)}?resolved=false").json()["threads"]
    api.post(comments(workflow), {"node": "log", "body": "Once more"}, format="json")
    reopened = api.get(f"{comments(workflow)}?node=log").json()["threads"][0]
    assert resolved.status_code == 200
    assert resolved.json()["resolved"] is True and resolved.json()["resolved_by"] == "editor"
    assert open_ones == []
    assert reopened["resolved"] is False and len(reopened["comments"]) == 2


@pytest.mark.parametrize(("body", "field"), [
    ({"node": "log"}, "body"),
    ({"node": "log", "body": "   "}, "body"),
    ({"node": "log", "body": "x" * 4001}, "body"),
    ({"node": "a/b", "body": "hi"}, "node"),
    ({"node": "x" * 101, "body": "hi"}, "node"),
    ({"node": "log", "body": "hi", "colour": "red"}, "colour"),
])
def test_a_bad_comment_is_refused_naming_the_field(workflow, editor, client_for, body, field):
    response = client_for(editor).post(comments(workflow), body, format="json")
    assert response.status_code == 400
    assert field in response.json()["details"]["fields"]


def test_comments_need_a_login_and_a_thread_to_resolve(workflow, editor, client_for, nobody):
    assert client_for(None).get(comments(workflow)).status_code in (401, 403)
    assert client_for(nobody).post(comments(workflow), {"node": "log", "body": "hi"},
                                   format="json").status_code == 403
    missing = client_for(editor).patch(f"{comments(workflow)}/log", {"resolved": True},
                                       format="json")
    assert missing.status_code == 404 and missing.json()["details"] == {"node": "log"}


def test_a_full_thread_refuses_more(workflow, editor, client_for, settings):
    settings.COLLABORATION_THREAD_MAX_COMMENTS = 2
    api = client_for(editor)
    answers = [api.post(comments(workflow), {"node": "log", "body": f"{n}"}, format="json")
               for n in range(3)]
    assert [answer.status_code for answer in answers] == [201, 201, 409]
    assert answers[2].json()["code"] == "comments_full"
