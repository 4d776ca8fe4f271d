"""What every websocket of the platform does with paths it does not serve and with frames
it cannot use: a clean close, an error frame, never a dropped socket or a server error.
Through a real web server."""

from __future__ import annotations

import asyncio
import json

import pytest
from asgiref.sync import async_to_sync
from websockets.exceptions import ConnectionClosed

from config.tokens import access_token_issue
from executions.models import Execution
from tests.engine import workflow_from
from tests.servers import collaboration_settle, receive_presence

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("path", ["/ws/nowhere/", "/ws/executions/not-an-id/",
                                  "/ws/workflows/", "/", "/api/workflows"])
def test_a_path_without_a_route_is_closed_with_4404_and_no_server_error(web, path):
    before = len(web.output())

    async def go():
        async with web.websocket(path) as websocket:
            with pytest.raises(ConnectionClosed) as closed:
                await websocket.recv()
            return closed.value.rcvd.code

    assert async_to_sync(go)() == 4404
    logged = web.output()[before:]
    assert "Traceback" not in logged and '"level": "ERROR"' not in logged


@pytest.fixture(params=["execution", "workflow"])
def socket_path(request, definition, viewer):
    """An open socket of each consumer, for the viewer."""
    workflow = workflow_from(definition())
    token = access_token_issue(user=viewer)
    if request.param == "execution":
        execution = Execution.objects.create(workflow=workflow,
                                             version=workflow.current_version)
        yield f"/ws/executions/{execution.pk}/?token={token}"
        return
    yield f"/ws/workflows/{workflow.pk}/?token={token}"
    collaboration_settle()


BAD_FRAMES = [
    ("{not json", "invalid_json"),
    (b"\x00\x01binary", "binary_unsupported"),
    (json.dumps({"type": "ping", "pad": "x" * 70_000}), "message_too_large"),
    ('{"type": "no.such.thing"}', "unknown_type"),
    ('{"type": "execution.events", "messages": [{"x": 1}]}', "unknown_type"),
    ("[1, 2, 3]", "invalid_message"),
    ('"a string"', "invalid_message"),
    ("null", "invalid_message"),
    ('{"type": 5}', "invalid_message"),
    ('{"no": "type"}', "invalid_message"),
    ("[" * 50_000 + "]" * 50_000, "message_too_large"),
    ("[" * 30_000 + "]" * 30_000, "invalid_json"),
    ('{"type": "ping", "n": NaN}', "invalid_json"),
    ('{"type": "status", "status": "a\\u0000"}', "invalid_json"),
]


def test_bad_frames_are_answered_with_errors_and_the_socket_stays_open(web, socket_path):
    before = len(web.output())

    async def go():
        answers = []
        async with web.websocket(socket_path) as websocket:
            await receive_presence(websocket)  # the snapshot
            for frame, _ in BAD_FRAMES:
                # when the client sends a frame the socket cannot use (slower than the rate)
                await asyncio.sleep(0.15)
                await websocket.send(frame)
                answers.append(await receive_presence(websocket))
            # then the socket still answers
            await websocket.send('{"type": "ping"}')
            return answers, await receive_presence(websocket)

    answers, pong = async_to_sync(go)()
    assert [(answer["type"], answer["code"]) for answer in answers] == [
        ("error", code) for _, code in BAD_FRAMES]
    assert all(answer["message"] for answer in answers)
    assert pong == {"type": "pong"}
    assert "Traceback" not in web.output()[before:]


def test_a_flood_of_messages_is_cut_to_the_rate_and_the_socket_stays_open(web, socket_path):
    async def go():
        async with web.websocket(socket_path) as websocket:
            await receive_presence(websocket)  # the snapshot
            # when the client sends far more than 10 messages in a second
            for _ in range(40):
                await websocket.send('{"type": "ping"}')
            answers = [await receive_presence(websocket) for _ in range(40)]
            return answers

    answers = async_to_sync(go)()
    # then some were refused as over the rate, the rest answered
    codes = [answer.get("code") for answer in answers if answer["type"] == "error"]
    assert codes and set(codes) == {"rate_limited"}
    assert {"type": "pong"} in answers
