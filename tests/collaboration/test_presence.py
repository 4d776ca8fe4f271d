"""Presence on `/ws/workflows/<id>/`, through a real web server and the real channel layer."""

from __future__ import annotations

import asyncio
import json
import signal
import time
import uuid

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from websockets.exceptions import ConnectionClosed

from collaboration.models import CollaborationEvent
from config.tokens import access_token_issue
from tests.engine import workflow_from
from tests.servers import receive_presence, web_server

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def workflow(definition):
    return workflow_from(definition(name="designed"))


def path_for(workflow_id, user=None) -> str:
    token = f"?token={access_token_issue(user=user)}" if user is not None else ""
    return f"/ws/workflows/{workflow_id}/{token}"


def close_code(web, path: str, **kwargs) -> int:
    async def go():
        async with web.websocket(path, **kwargs) as websocket:
            with pytest.raises(ConnectionClosed) as closed:
                await receive_presence(websocket)
            return closed.value.rcvd.code

    return async_to_sync(go)()


def test_without_a_login_the_socket_is_closed_with_4401(web, workflow):
    assert close_code(web, path_for(workflow.pk)) == 4401


def test_without_workflow_read_the_socket_is_closed_with_4403(web, workflow, nobody):
    assert close_code(web, path_for(workflow.pk, nobody)) == 4403


def test_an_unknown_workflow_is_closed_with_4404(web, viewer):
    assert close_code(web, path_for(uuid.uuid4(), viewer)) == 4404


def test_a_session_login_joins_the_workflow(web, workflow, viewer, client):
    client.force_login(viewer)
    cookie = f"sessionid={client.cookies['sessionid'].value}"

    async def go():
        async with web.websocket(path_for(workflow.pk),
                                 additional_headers={"Cookie": cookie}) as websocket:
            return await receive_presence(websocket)

    snapshot = async_to_sync(go)()
    assert snapshot["type"] == "presence.snapshot"
    assert [user["username"] for user in snapshot["users"]] == ["viewer"]


def test_designers_see_each_other_join_speak_and_leave(web, workflow, viewer, editor):
    async def go():
        async with web.websocket(path_for(workflow.pk, viewer)) as first:
            # given a viewer alone on the workflow
            alone = await receive_presence(first)
            # when an editor opens it too
            async with web.websocket(path_for(workflow.pk, editor)) as second:
                both = await receive_presence(second)
                joined = await receive_presence(first)
                # and says what they are doing, points, then sends a heartbeat
                await second.send('{"type": "presence", "status": "busy", '
                                  '"activity": "editing fetch", "selection": ["fetch"]}')
                updated = await receive_presence(first)
                await second.send('{"type": "pointer", "x": 120.5, "y": -40}')
                pointer = await receive_presence(first)
                await second.send('{"type": "heartbeat"}')
                heartbeat = await receive_presence(first)
            # and leaves
            left = await receive_presence(first)
            return alone, both, joined, updated, pointer, heartbeat, left

    alone, both, joined, updated, pointer, heartbeat, left = async_to_sync(go)()
    # then each saw the other, and the others' messages reached the first
    assert alone["type"] == "presence.snapshot"
    assert [user["username"] for user in alone["users"]] == ["viewer"]
    assert [user["username"] for user in both["users"]] == ["viewer", "editor"]
    assert both["you"] == both["users"][1]["connection"]
    assert both["users"][0]["status"] == "online" and both["users"][0]["via"] == "socket"
    assert joined["type"] == "presence.joined" and joined["user"]["username"] == "editor"
    assert updated["type"] == "presence.updated"
    assert {name: updated["user"][name] for name in ("status", "activity", "selection")} == {
        "status": "busy", "activity": "editing fetch", "selection": ["fetch"]}
    assert pointer["type"] == "presence.pointer" and pointer["pointer"] == {"x": 120.5, "y": -40}
    assert pointer["user"]["username"] == "editor"
    assert heartbeat["type"] == "presence.heartbeat"
    assert left["type"] == "presence.left" and left["user"]["username"] == "editor"


def test_a_designer_who_left_is_not_in_the_next_snapshot(web, workflow, viewer, editor):
    async def go():
        async with web.websocket(path_for(workflow.pk, viewer)) as watching:
            await receive_presence(watching)
            # given an editor who joined and left
            async with web.websocket(path_for(workflow.pk, editor)) as websocket:
                await receive_presence(websocket)
                await receive_presence(watching)  # joined
            assert (await receive_presence(watching))["type"] == "presence.left"
            # when the viewer opens the workflow again
            async with web.websocket(path_for(workflow.pk, viewer)) as websocket:
                return await receive_presence(websocket)

    snapshot = async_to_sync(go)()
    # then only the viewer's two sockets are listed
    assert [user["username"] for user in snapshot["users"]] == ["viewer", "viewer"]


@pytest.mark.parametrize(("frame", "named"), [
    ({"type": "status", "status": "x" * 201}, "status"),
    ({"type": "presence", "status": "asleep"}, "status"),
    ({"type": "presence", "activity": "x" * 201}, "activity"),
    ({"type": "presence", "selection": "fetch"}, "selection"),
    ({"type": "presence", "selection": ["x"] * 201}, "selection"),
    ({"type": "presence", "colour": "red"}, "colour"),
    ({"type": "pointer", "x": "left", "y": 1}, '"x"'),
    ({"type": "pointer", "x": 1e300, "y": 1}, '"x"'),
    ({"type": "pointer", "x": True, "y": 1}, '"x"'),
])
def test_a_bad_presence_is_refused_naming_the_field_and_the_socket_stays(web, workflow,
                                                                         viewer, frame,
                                                                         named):
    async def go():
        async with web.websocket(path_for(workflow.pk, viewer)) as websocket:
            await receive_presence(websocket)
            await websocket.send(json.dumps(frame))
            refused = await receive_presence(websocket)
            await websocket.send('{"type": "ping"}')
            return refused, await receive_presence(websocket)

    refused, pong = async_to_sync(go)()
    assert refused["type"] == "error" and refused["code"] == "invalid_message"
    assert named in refused["message"], refused
    assert pong == {"type": "pong"}


def test_presence_crosses_web_processes_and_a_dead_one_s_people_expire(
        workflow, viewer, editor, tmp_path, settings, client_for):
    """Two web processes share presence (Redis) and the channel layer: a person on one is
    seen joining from the other; when their process dies without a word, they drop out
    of what everyone is shown once the heartbeat window has passed."""
    settings.COLLABORATION_PRESENCE_TTL = 2
    with web_server(tmp_path, COLLABORATION_PRESENCE_TTL="2") as here, \
            web_server(tmp_path, COLLABORATION_PRESENCE_TTL="2") as there:

        async def go():
            async with here.websocket(path_for(workflow.pk, viewer)) as watching:
                await receive_presence(watching)
                # (the context is kept: it must outlive its process, which it never closes)
                remote_context = there.websocket(path_for(workflow.pk, editor))
                remote = await remote_context.__aenter__()
                await receive_presence(remote)
                joined = await receive_presence(watching)
                # when the editor's process is killed: no close, no `left` from it
                there.process.send_signal(signal.SIGKILL)
                there.process.wait(timeout=10)
                for _ in range(5):  # the viewer's socket goes on sending heartbeats
                    await watching.send(json.dumps({"type": "heartbeat"}))
                    await asyncio.sleep(0.5)
                async with here.websocket(path_for(workflow.pk, viewer)) as fresh:
                    snapshot = await receive_presence(fresh)
                    users = (await sync_to_async(client_for(viewer).get)(
                        f"/api/collaboration/workflows/{workflow.pk}/users")).json()["users"]
                return joined, snapshot, users

        joined, snapshot, users = async_to_sync(go)()
    assert joined["type"] == "presence.joined" and joined["user"]["username"] == "editor"
    assert [user["username"] for user in snapshot["users"]] == ["viewer", "viewer"]
    assert [user["username"] for user in users] == ["viewer", "viewer"]


def test_a_designer_who_closes_at_once_is_seen_leaving(web, workflow, viewer):
    """A client that closes as soon as it has the snapshot: the `joined` event sent to its
    socket meets a closed connection, and its leaving is still recorded."""
    async def go():
        async with web.websocket(path_for(workflow.pk, viewer)) as websocket:
            await receive_presence(websocket)

    async_to_sync(go)()
    deadline = time.monotonic() + 5
    while not CollaborationEvent.objects.filter(workflow=workflow, kind="left").exists():
        assert time.monotonic() < deadline, "the closed socket's leaving was not recorded"
        time.sleep(0.05)
