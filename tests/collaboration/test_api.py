"""The collaboration API: shared state, events and presence through HTTP."""

from __future__ import annotations

import threading
from urllib.parse import quote

import pytest
from django.db import connection

from collaboration.models import CollaborationEvent
from tests.engine import workflow_from

pytestmark = [pytest.mark.django_db]


@pytest.fixture
def workflow(definition):
    return workflow_from(definition(name="shared"))


def base(workflow) -> str:
    return f"/api/collaboration/workflows/{workflow.pk}"


# --- Shared state --------------------------------------------------------------------------


def test_an_editor_sets_a_key_and_a_viewer_reads_it_with_its_version(workflow, editor,
                                                                      viewer, client_for):
    # given an editor who sets a key of the workflow's shared state
    written = client_for(editor).put(f"{base(workflow)}/state/layout.zoom",
                                     {"value": {"zoom": 1.5}}, format="json")

    # when a viewer reads it, alone and with the rest of the state
    one = client_for(viewer).get(f"{base(workflow)}/state/layout.zoom")
    every = client_for(viewer).get(f"{base(workflow)}/state")

    # then both show the value at version 1, written by the editor
    assert written.status_code == 200, written.json()
    assert one.status_code == 200
    assert one.json()["value"] == {"zoom": 1.5}
    assert one.json()["version"] == 1 and one.json()["updated_by"] == "editor"
    assert every.json()["state"]["layout.zoom"]["value"] == {"zoom": 1.5}


def test_a_write_on_a_stale_version_is_refused_and_names_the_current_one(workflow, editor,
                                                                          client_for):
    client = client_for(editor)
    path = f"{base(workflow)}/state/owner"
    # given a key written twice (version 2)
    client.put(path, {"value": "ada"}, format="json")
    client.put(path, {"value": "grace", "version": 1}, format="json")

    # when someone who read version 1 writes again on it
    stale = client.put(path, {"value": "linus", "version": 1}, format="json")
    # and someone creates a key that must not exist yet, twice
    created = client.put(f"{base(workflow)}/state/lock", {"value": 1, "version": 0},
                         format="json")
    again = client.put(f"{base(workflow)}/state/lock", {"value": 2, "version": 0},
                       format="json")

    # then the stale write is a 409 naming the version now, and nothing changed
    assert stale.status_code == 409
    assert stale.json()["code"] == "state_version_conflict"
    assert stale.json()["details"] == {"key": "owner", "version": 2}
    assert client.get(path).json()["value"] == "grace"
    assert created.status_code == 200 and again.status_code == 409


def test_a_viewer_may_not_change_the_state_nor_post_events(workflow, viewer, client_for):
    client = client_for(viewer)
    assert client.put(f"{base(workflow)}/state/x", {"value": 1},
                      format="json").status_code == 403
    assert client.delete(f"{base(workflow)}/state/x").status_code == 403
    assert client.post(f"{base(workflow)}/events", {"data": {"text": "hi"}},
                       format="json").status_code == 403
    assert client.get(f"{base(workflow)}/events").status_code == 200


def test_without_workflow_read_nothing_is_readable(workflow, nobody, anonymous, client_for):
    for client, code in ((client_for(nobody), 403), (anonymous, 401)):
        for path in ("/state", "/events", "/users", "/state/x"):
            assert client.get(f"{base(workflow)}{path}").status_code == code, path
        assert client.post(f"{base(workflow)}/join").status_code == code


@pytest.mark.parametrize(("key", "body", "field"), [
    ("ok", {"value": "x" * 70_000}, "value"),
    ("ok", {}, "value"),
    ("ok", {"value": 1, "version": -1}, "version"),
    ("ok", {"value": 1, "version": "two"}, "version"),
    ("ok", {"value": 1, "colour": "red"}, "colour"),
    ("a key with spaces", {"value": 1}, "key"),
    ("x" * 201, {"value": 1}, "key"),
])
def test_bad_state_writes_are_400_naming_the_field(workflow, editor, client_for, key, body,
                                                   field):
    response = client_for(editor).put(f"{base(workflow)}/state/{key}", body, format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()["details"]["fields"], response.json()


def test_the_number_of_keys_is_limited(workflow, editor, client_for, settings):
    # given a workflow whose state may hold 2 keys, holding 2
    settings.COLLABORATION_STATE_MAX_KEYS = 2
    client = client_for(editor)
    for key in ("a", "b"):
        assert client.put(f"{base(workflow)}/state/{key}", {"value": 1},
                          format="json").status_code == 200

    # when a third is set, and one of the two changes
    third = client.put(f"{base(workflow)}/state/c", {"value": 1}, format="json")
    change = client.put(f"{base(workflow)}/state/a", {"value": 2}, format="json")

    # then the third is refused, naming the limit, and the change is made
    assert third.status_code == 409 and third.json()["code"] == "state_full"
    assert third.json()["details"] == {"max_keys": 2}
    assert change.status_code == 200 and change.json()["version"] == 2


def test_a_key_is_deleted_once_and_on_its_version(workflow, editor, client_for):
    client = client_for(editor)
    path = f"{base(workflow)}/state/note"
    client.put(path, {"value": "x"}, format="json")
    assert client.delete(f"{path}?version=7").status_code == 409
    # a version that is not a whole number, in any script or of any length, names the field
    for version in ("x", "\u00b2", "\u0665", "-1", "9" * 5000, "4294967296"):
        refused = client.delete(f"{path}?version={quote(version)}")
        assert refused.status_code == 400, (version, refused.status_code)
        assert list(refused.json()["details"]["fields"]) == ["version"]
    assert client.delete(f"{path}?version=0001").status_code == 204
    assert client.get(path).status_code == 404
    assert client.delete(path).status_code == 404


@pytest.mark.parametrize("reference", ["\u00b2", "9" * 5000, "99999999999999999999999",
                                       "9223372036854775808"])
def test_a_user_reference_that_is_no_id_is_a_404(editor, client_for, reference):
    # a user named by a digit int() refuses, thousands of digits or an id past any bigint
    for what in ("online", "workflows"):
        response = client_for(editor).get(
            f"/api/collaboration/users/{quote(reference)}/{what}")
        assert response.status_code == 404, (what, response.status_code)
        assert response.json()["code"] == "not_found"


def test_state_keys_that_look_like_routes_are_keys(definition, editor, client_for):
    # given a workflow named by namespace/name, and keys named as the other routes are
    workflow = workflow_from(definition(name="routes", namespace="team"))
    client = client_for(editor)
    for key in ("users", "events", "join", "state"):
        # when each is set through the namespace/name reference
        response = client.put(f"/api/collaboration/workflows/team/routes/state/{key}",
                              {"value": key}, format="json")
        # then it is a key of that workflow's state
        assert response.status_code == 200, (key, response.json())
    assert set(client.get(f"{base(workflow)}/state").json()["state"]) == {
        "users", "events", "join", "state"}


def test_an_unknown_workflow_is_404(editor, client_for):
    response = client_for(editor).get(
        "/api/collaboration/workflows/00000000-0000-4000-8000-000000000000/state")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


# --- Events --------------------------------------------------------------------------------


def test_events_are_numbered_per_workflow_and_resumed_after_a_number(workflow, definition,
                                                                     editor, viewer,
                                                                     client_for):
    client = client_for(editor)
    other = workflow_from(definition(name="other"))
    # given two state changes and a message on the workflow, and one on another workflow
    client.put(f"{base(workflow)}/state/a", {"value": 1}, format="json")
    client.put(f"{base(other)}/state/a", {"value": 1}, format="json")
    client.put(f"{base(workflow)}/state/a", {"value": 2}, format="json")
    posted = client.post(f"{base(workflow)}/events", {"data": {"text": "look at fetch"}},
                         format="json")

    # when a viewer reads them all, then resumes after the first, one at a time
    every = client_for(viewer).get(f"{base(workflow)}/events").json()
    page = client_for(viewer).get(f"{base(workflow)}/events", {"after": 1, "limit": 1}).json()
    rest = client_for(viewer).get(f"{base(workflow)}/events",
                                  {"after": page["last_seq"]}).json()

    # then the workflow's events are 1, 2, 3 in order, the other workflow's its own 1
    assert posted.status_code == 201, posted.json()
    assert posted.json()["seq"] == 3 and posted.json()["kind"] == "message"
    assert [(event["seq"], event["kind"]) for event in every["events"]] == [
        (1, "state_changed"), (2, "state_changed"), (3, "message")]
    assert every["events"][1]["data"] == {"key": "a", "version": 2}
    assert every["events"][2]["user"] == "editor"
    assert every["last_seq"] == 3 and every["more"] is False
    assert [event["seq"] for event in page["events"]] == [2] and page["more"] is True
    assert [event["seq"] for event in rest["events"]] == [3] and rest["more"] is False
    assert CollaborationEvent.objects.get(workflow=other).seq == 1


@pytest.mark.parametrize(("query", "field"), [
    ({"after": -1}, "after"), ({"after": "x"}, "after"), ({"after": "NaN"}, "after"),
    ({"limit": 0}, "limit"), ({"limit": 100_000}, "limit"), ({"since": 1}, "since"),
])
def test_bad_event_queries_are_400_naming_the_parameter(workflow, viewer, client_for, query,
                                                        field):
    response = client_for(viewer).get(f"{base(workflow)}/events", query)
    assert response.status_code == 400, response.json()
    assert field in response.json()["details"]["fields"]


@pytest.mark.parametrize(("body", "field"), [
    ({"kind": "published"}, "kind"),
    ({"kind": "joined"}, "kind"),
    ({"data": "text"}, "data"),
    ({"data": {"text": "x" * 20_000}}, "data"),
])
def test_platform_kinds_and_bad_data_cannot_be_posted(workflow, editor, client_for, body,
                                                      field):
    response = client_for(editor).post(f"{base(workflow)}/events", body, format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()["details"]["fields"]
    assert not CollaborationEvent.objects.filter(workflow=workflow).exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_events_get_every_number_once_in_order(workflow, editor, client_for):
    # given 8 clients posting 5 events each at the same time
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL (SQLite writes one at a time)")

    def post(number: int) -> None:
        client = client_for(editor)
        for item in range(5):
            assert client.post(f"{base(workflow)}/events", {"data": {"n": number, "i": item}},
                               format="json").status_code == 201

    threads = [threading.Thread(target=post, args=(number,)) for number in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # then the 40 events are numbered 1..40, each number once, each client's in its order
    events = list(CollaborationEvent.objects.filter(workflow=workflow).order_by("seq"))
    assert [event.seq for event in events] == list(range(1, 41))
    for number in range(8):
        items = [event.data["i"] for event in events if event.data["n"] == number]
        assert items == list(range(5))
