"""Presence through the API and the socket together, and collaboration events as they
happen: a real web server, the real channel layer and Redis."""

from __future__ import annotations

import time

import pytest
from asgiref.sync import async_to_sync, sync_to_async

from collaboration.models import CollaborationEvent
from config.tokens import access_token_issue
from tests.engine import workflow_from
from tests.servers import receive_event, receive_presence

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def workflow(definition):
    return workflow_from(definition(name="live"))


def socket_path(workflow, user) -> str:
    return f"/ws/workflows/{workflow.pk}/?token={access_token_issue(user=user)}"


def base(workflow) -> str:
    return f"/api/collaboration/workflows/{workflow.pk}"


def test_an_api_client_is_present_beside_the_sockets(web, workflow, viewer, editor,
                                                     client_for):
    api = client_for(editor)

    async def go():
        async with web.websocket(socket_path(workflow, viewer)) as websocket:
            await receive_presence(websocket)  # the snapshot
            # when the editor joins through the API, says they are away, and leaves
            joined = await sync_to_async(api.post)(
                f"{base(workflow)}/join", {"activity": "reviewing"}, format="json")
            seen_join = await receive_presence(websocket)
            users = await sync_to_async(api.get)(f"{base(workflow)}/users")
            online = await sync_to_async(api.get)("/api/collaboration/users/editor/online")
            where = await sync_to_async(api.get)(
                "/api/collaboration/users/editor/workflows")
            away = await sync_to_async(api.put)(
                f"{base(workflow)}/users/editor/presence", {"status": "away"},
                format="json")
            seen_away = await receive_presence(websocket)
            left = await sync_to_async(api.post)(f"{base(workflow)}/leave")
            seen_left = await receive_presence(websocket)
            after = await sync_to_async(api.get)("/api/collaboration/users/editor/online")
            return (joined, seen_join, users, online, where, away, seen_away, left,
                    seen_left, after)

    (joined, seen_join, users, online, where, away, seen_away, left, seen_left,
     after) = async_to_sync(go)()
    # then the socket saw the editor come, change and go, and the API listed both people
    assert joined.status_code == 200, joined.json()
    assert [user["username"] for user in joined.json()["users"]] == ["viewer", "editor"]
    assert seen_join["type"] == "presence.joined"
    assert seen_join["user"]["via"] == "api" and seen_join["user"]["activity"] == "reviewing"
    assert [(user["username"], user["via"]) for user in users.json()["users"]] == [
        ("viewer", "socket"), ("editor", "api")]
    assert online.json() == {"user": "editor", "online": True, "workflows": 1}
    assert where.json()["workflows"] == [{"id": str(workflow.pk), "name": "tests/live"}]
    assert away.status_code == 200
    assert seen_away["type"] == "presence.updated" and seen_away["user"]["status"] == "away"
    assert left.status_code == 204
    assert seen_left["type"] == "presence.left" and seen_left["user"]["username"] == "editor"
    assert after.json() == {"user": "editor", "online": False, "workflows": 0}
    # and their coming and going are the workflow's events, numbered
    kinds = list(CollaborationEvent.objects.filter(workflow=workflow)
                 .order_by("seq").values_list("kind", "user__username"))
    assert kinds == [("joined", "viewer"), ("joined", "editor"), ("left", "editor")]


def test_one_s_presence_is_one_s_own(workflow, viewer, editor, client_for):
    client = client_for(viewer)
    other = client.put(f"{base(workflow)}/users/editor/presence", {"status": "away"},
                       format="json")
    unknown = client.put(f"{base(workflow)}/users/nobody-here/presence", {"status": "away"},
                         format="json")
    assert other.status_code == 403 and other.json()["details"] == {"user": "editor"}
    assert unknown.status_code == 404
    assert client.get("/api/collaboration/users/nobody-here/online").status_code == 404


def test_changes_reach_the_sockets_as_numbered_events(web, workflow, viewer, editor,
                                                      client_for):
    api = client_for(editor)

    async def go():
        async with web.websocket(socket_path(workflow, viewer)) as websocket:
            await receive_presence(websocket)  # the snapshot
            # when the editor changes the shared state and posts a message
            await sync_to_async(api.put)(f"{base(workflow)}/state/review",
                                         {"value": {"open": True}}, format="json")
            first = await receive_event(websocket, {"state_changed", "message"})
            await sync_to_async(api.post)(f"{base(workflow)}/events",
                                          {"data": {"text": "ready"}}, format="json")
            second = await receive_event(websocket, {"state_changed", "message"})
            return first, second

    first, second = async_to_sync(go)()
    # then the viewer's socket got both, with the numbers the events API gives them
    assert first["type"] == "event" and second["type"] == "event"
    assert (first["event"]["kind"], first["event"]["data"]) == (
        "state_changed", {"key": "review", "version": 1})
    assert (second["event"]["kind"], second["event"]["data"]) == ("message", {"text": "ready"})
    assert second["event"]["seq"] == first["event"]["seq"] + 1
    assert second["event"]["user"] == "editor"


def test_two_sockets_of_one_person_join_and_leave_once(web, workflow, viewer):
    async def go():
        async with web.websocket(socket_path(workflow, viewer)) as first:
            await receive_presence(first)
            async with web.websocket(socket_path(workflow, viewer)) as second:
                await receive_presence(second)
                await receive_presence(first)  # the second socket joined
            await receive_presence(first)  # and left

    async_to_sync(go)()
    # then the workflow's events hold one joined and, once the last socket's close is
    # handled, one left
    events = CollaborationEvent.objects.filter(workflow=workflow).order_by("seq")
    deadline = time.monotonic() + 10
    while events.count() < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(events.values_list("kind", flat=True)) == ["joined", "left"]
