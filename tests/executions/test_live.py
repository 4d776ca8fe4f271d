"""Live execution updates: `/ws/executions/<id>/` through the real ASGI stack and the real
channel layer (channels_redis), fed by the outbox dispatcher."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any
from urllib.parse import unquote, urlparse

import pytest
from asgiref.sync import async_to_sync
from asgiref.testing import ApplicationCommunicator
from django.utils import timezone

from config.asgi import application
from config.tokens import access_token_issue
from executions import services
from executions.models import Execution, NodeExecution, OutboxEvent
from executions.services.outbox import execution_group, outbox_dispatch
from tests.engine import wait_for, workflow_from

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

ORIGIN = [(b"origin", b"http://localhost"), (b"host", b"localhost")]


class WebsocketCommunicator(ApplicationCommunicator):
    """The part of `channels.testing.WebsocketCommunicator` these tests use. Channels 4.3's
    `channels.testing` imports daphne (for its live server), which the project does not
    install; this is the same protocol, on asgiref's communicator."""

    def __init__(self, app: Any, path: str, headers: list | None = None) -> None:
        parsed = urlparse(path)
        super().__init__(app, {"type": "websocket", "path": unquote(parsed.path),
                               "query_string": parsed.query.encode(),
                               "headers": headers or [], "subprotocols": []})

    async def connect(self, timeout: float = 1) -> tuple[bool, Any]:
        await self.send_input({"type": "websocket.connect"})
        response = await self.receive_output(timeout)
        if response["type"] == "websocket.close":
            return False, response.get("code", 1000)
        return True, response.get("subprotocol")

    async def receive_json_from(self, timeout: float = 1) -> Any:
        response = await self.receive_output(timeout)
        assert response["type"] == "websocket.send", response
        return json.loads(response["text"])

    async def disconnect(self, code: int = 1000, timeout: float = 1) -> None:
        await self.send_input({"type": "websocket.disconnect", "code": code})
        await self.wait(timeout)


def session(path: str, *, token: str | None = None, cookie: str | None = None,
            script: Any = None) -> Any:
    """Open the websocket, run `script(communicator)` in the same event loop, close."""
    headers = list(ORIGIN)
    if cookie:
        headers.append((b"cookie", cookie.encode()))
    url = path + (f"?token={token}" if token else "")

    async def go() -> Any:
        communicator = WebsocketCommunicator(application, url, headers=headers)
        connected, _ = await communicator.connect(timeout=10)
        assert connected
        try:
            return await script(communicator)
        finally:
            await communicator.disconnect()

    return async_to_sync(go)()


async def close_code(communicator: WebsocketCommunicator) -> int:
    output = await communicator.receive_output(timeout=10)
    assert output["type"] == "websocket.close"
    return output["code"]


@pytest.fixture
def waiting_execution(definition):
    """An execution's rows as the engine leaves them mid-run, with no task sent: a worker
    busy with it while the test's teardown empties the tables would deadlock the flush."""
    document = definition(name="live-wait", nodes=[
        {"id": "pause", "type": "Delay", "data": {"seconds": 3600}}], edges=[])
    workflow = workflow_from(document)
    execution = Execution.objects.create(workflow=workflow, version=workflow.current_version,
                                         status="running", started_at=timezone.now())
    NodeExecution.objects.create(execution=execution, node_id="pause", node_type="Delay",
                                 status="waiting", attempt=1)
    return execution


def test_an_unauthenticated_socket_is_closed_with_4401(waiting_execution):
    code = session(f"/ws/executions/{waiting_execution.pk}/", script=close_code)
    assert code == 4401


def test_an_invalid_token_is_closed_with_4401(waiting_execution):
    code = session(f"/ws/executions/{waiting_execution.pk}/", token="not-a-jwt",
                   script=close_code)
    assert code == 4401


def test_a_token_from_before_a_password_change_is_closed_with_4401(waiting_execution, viewer):
    token = str(access_token_issue(user=viewer))
    viewer.set_password("another-long-passphrase-entirely")
    viewer.save()
    code = session(f"/ws/executions/{waiting_execution.pk}/", token=token, script=close_code)
    assert code == 4401


def test_a_user_without_workflow_read_is_closed_with_4403(waiting_execution, nobody):
    code = session(f"/ws/executions/{waiting_execution.pk}/",
                   token=str(access_token_issue(user=nobody)), script=close_code)
    assert code == 4403


def test_an_unknown_execution_is_closed_with_4404(viewer):
    code = session(f"/ws/executions/{uuid.uuid4()}/",
                   token=str(access_token_issue(user=viewer)), script=close_code)
    assert code == 4404


def test_a_viewer_with_a_token_receives_the_snapshot(waiting_execution, viewer):
    async def snapshot(communicator):
        return await communicator.receive_json_from(timeout=10)

    message = session(f"/ws/executions/{waiting_execution.pk}/",
                      token=str(access_token_issue(user=viewer)), script=snapshot)
    assert message["type"] == "execution.snapshot"
    body = message["execution"]
    assert body["id"] == str(waiting_execution.pk) and body["status"] == "running"
    assert body["nodes"] == [{"node": "pause", "iteration": "", "status": "waiting",
                              "attempt": 1, "branch": "", "sequence": 0}]
    assert body["sequence"] == 0
    assert "output" not in body and all("output" not in node for node in body["nodes"])


@pytest.mark.usefixtures("worker")
def test_the_snapshot_names_the_newest_event_in_each_nodes_status(definition, viewer):
    # given a run finished on the real worker, its events written to the outbox
    execution, _ = services.execution_start(workflow=workflow_from(definition()),
                                            input={"name": "Ada"})
    assert wait_for(execution).status == "completed"

    # when a viewer connects
    async def snapshot(communicator):
        return await communicator.receive_json_from(timeout=10)

    body = session(f"/ws/executions/{execution.pk}/",
                   token=str(access_token_issue(user=viewer)), script=snapshot)["execution"]

    # then each node's row carries the sequence of that node's newest event, and the
    # execution the newest of all: a client drops an event at or below them (late or twice)
    events = OutboxEvent.objects.filter(execution=execution)
    for row in body["nodes"]:
        newest = events.filter(payload__node=row["node"]).order_by("-id").first()
        assert row["sequence"] == newest.pk and newest.event == f"node.{row['status']}"
    assert body["sequence"] == events.order_by("-id").first().pk
    assert {row["node"] for row in body["nodes"]} == {"greet", "log"}


def test_a_session_login_authenticates_the_socket(waiting_execution, viewer, client):
    client.force_login(viewer)
    cookie = f"sessionid={client.cookies['sessionid'].value}"

    async def snapshot(communicator):
        return await communicator.receive_json_from(timeout=10)

    message = session(f"/ws/executions/{waiting_execution.pk}/", cookie=cookie,
                      script=snapshot)
    assert message["type"] == "execution.snapshot"


def events_until_completed(execution: Execution, *others: Execution, viewer: Any) -> list:
    """Watch `execution` on its socket while it (and `others`) run on the real worker, then
    let one dispatcher pass publish their events, as beat would: the frames received, up
    to the execution's completion."""

    async def watch(communicator):
        from channels.db import database_sync_to_async

        snapshot = await communicator.receive_json_from(timeout=10)
        assert snapshot["type"] == "execution.snapshot"
        for run in (execution, *others):
            await database_sync_to_async(wait_for)(run)
        await database_sync_to_async(outbox_dispatch)()
        seen = []
        while not seen or seen[-1]["event"] != "execution.completed":
            seen.append(await communicator.receive_json_from(timeout=10))
        return seen

    return session(f"/ws/executions/{execution.pk}/",
                   token=str(access_token_issue(user=viewer)), script=watch)


@pytest.mark.usefixtures("worker")
def test_events_of_a_run_on_the_real_worker_reach_the_socket(definition, viewer):
    # given a viewer watching an execution from its start
    execution, _ = services.execution_start(workflow=workflow_from(definition()),
                                            input={"name": "Ada"})
    # when it runs on the real worker and the dispatcher runs
    seen = events_until_completed(execution, viewer=viewer)
    # then every change arrives, in order, up to the completion
    events = [(message["event"], message["node"]) for message in seen]
    assert events[0] == ("execution.pending", None)
    assert ("node.completed", "greet") in events and ("node.completed", "log") in events
    assert events.index(("node.completed", "greet")) < events.index(("node.completed", "log"))
    assert all(message["type"] == "execution.event" and message["execution"] == str(
        execution.pk) for message in seen)
    completed = seen[-1]
    assert completed["status"] == "completed" and "output" not in completed


@pytest.mark.usefixtures("worker")
def test_one_dispatch_of_two_runs_sends_each_socket_its_own_events_once_in_order(
        definition, viewer):
    # given two executions of a workflow, a viewer watching the first
    workflow = workflow_from(definition())
    other, _ = services.execution_start(workflow=workflow, input={"name": "Grace"})
    execution, _ = services.execution_start(workflow=workflow, input={"name": "Ada"})
    # when both have run and one dispatcher pass publishes their events together
    seen = events_until_completed(execution, other, viewer=viewer)
    # then the socket got every event of its execution, each once, in order, and no other's
    sequences = [message["sequence"] for message in seen]
    assert sequences == sorted(OutboxEvent.objects.filter(execution=execution)
                               .values_list("pk", flat=True))
    assert {message["execution"] for message in seen} == {str(execution.pk)}


def test_an_event_sent_one_by_one_still_reaches_the_socket(waiting_execution, viewer):
    # given a socket watching an execution
    async def watch(communicator):
        from channels.layers import get_channel_layer

        await communicator.receive_json_from(timeout=10)  # the snapshot
        # when a dispatcher of an earlier release sends one event as its own message
        await get_channel_layer().group_send(
            execution_group(waiting_execution.pk),
            {"type": "execution.event", "message": {"sequence": 7, "event": "node.waiting"}})
        return await communicator.receive_json_from(timeout=10)

    message = session(f"/ws/executions/{waiting_execution.pk}/",
                      token=str(access_token_issue(user=viewer)), script=watch)
    # then the socket relays it as it always did
    assert message == {"type": "execution.event", "sequence": 7, "event": "node.waiting"}


def test_a_socket_idle_for_30_seconds_still_receives_the_next_event(web, waiting_execution,
                                                                     viewer):
    # given a viewer watching an execution on the real web server
    from channels.layers import get_channel_layer

    from tests.servers import receive_json

    token = str(access_token_issue(user=viewer))

    async def watch():
        async with web.websocket(f"/ws/executions/{waiting_execution.pk}/?token={token}") as ws:
            assert (await receive_json(ws))["type"] == "execution.snapshot"
            # when nothing happens for 30 s (a run waiting on a Delay, an approval, ...)
            await asyncio.sleep(30)
            # then the next event still reaches the socket
            await get_channel_layer().group_send(
                execution_group(waiting_execution.pk),
                {"type": "execution.events",
                 "messages": [{"sequence": 8, "event": "node.completed"}]})
            return await receive_json(ws)

    message = async_to_sync(watch)()
    assert message == {"type": "execution.event", "sequence": 8, "event": "node.completed"}
    assert "TimeoutError" not in web.output()
