"""Presence on `/ws/workflows/<id>/`, through a real web server and the real channel layer."""

from __future__ import annotations

import uuid

import pytest
from asgiref.sync import async_to_sync
from websockets.exceptions import ConnectionClosed

from config.tokens import access_token_issue
from tests.engine import workflow_from
from tests.servers import receive_json

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
                await receive_json(websocket)
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
            return await receive_json(websocket)

    snapshot = async_to_sync(go)()
    assert snapshot["type"] == "presence.snapshot"
    assert [user["username"] for user in snapshot["users"]] == ["viewer"]


def test_designers_see_each_other_join_speak_and_leave(web, workflow, viewer, editor):
    async def go():
        async with web.websocket(path_for(workflow.pk, viewer)) as first:
            # given a viewer alone on the workflow
            alone = await receive_json(first)
            # when an editor opens it too
            async with web.websocket(path_for(workflow.pk, editor)) as second:
                both = await receive_json(second)
                joined = await receive_json(first)
                # and says what they are doing, then sends a heartbeat
                await second.send('{"type": "status", "status": "editing node fetch"}')
                status = await receive_json(first)
                await second.send('{"type": "heartbeat"}')
                heartbeat = await receive_json(first)
            # and leaves
            left = await receive_json(first)
            return alone, both, joined, status, heartbeat, left

    alone, both, joined, status, heartbeat, left = async_to_sync(go)()
    # then each saw the other, and the others' messages reached the first
    assert alone["type"] == "presence.snapshot"
    assert [user["username"] for user in alone["users"]] == ["viewer"]
    assert [user["username"] for user in both["users"]] == ["viewer", "editor"]
    assert both["you"] == both["users"][1]["connection"]
    assert joined["type"] == "presence.joined" and joined["user"]["username"] == "editor"
    assert status["type"] == "presence.status"
    assert status["user"]["status"] == "editing node fetch"
    assert heartbeat["type"] == "presence.heartbeat"
    assert left["type"] == "presence.left" and left["user"]["username"] == "editor"


def test_a_designer_who_left_is_not_in_the_next_snapshot(web, workflow, viewer, editor):
    async def go():
        async with web.websocket(path_for(workflow.pk, viewer)) as watching:
            await receive_json(watching)
            # given an editor who joined and left
            async with web.websocket(path_for(workflow.pk, editor)) as websocket:
                await receive_json(websocket)
                await receive_json(watching)  # joined
            assert (await receive_json(watching))["type"] == "presence.left"
            # when the viewer opens the workflow again
            async with web.websocket(path_for(workflow.pk, viewer)) as websocket:
                return await receive_json(websocket)

    snapshot = async_to_sync(go)()
    # then only the viewer's two sockets are listed
    assert [user["username"] for user in snapshot["users"]] == ["viewer", "viewer"]


def test_a_status_longer_than_the_limit_is_refused_and_the_socket_stays(web, workflow,
                                                                         viewer):
    async def go():
        async with web.websocket(path_for(workflow.pk, viewer)) as websocket:
            await receive_json(websocket)
            await websocket.send('{"type": "status", "status": "%s"}' % ("x" * 201))
            refused = await receive_json(websocket)
            await websocket.send('{"type": "ping"}')
            return refused, await receive_json(websocket)

    refused, pong = async_to_sync(go)()
    assert refused["type"] == "error" and refused["code"] == "invalid_message"
    assert pong == {"type": "pong"}
