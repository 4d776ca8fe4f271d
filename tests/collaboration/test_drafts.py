"""The shared draft, edited by several Yjs peers at once over real sockets: a real web
server (two for the cases across processes), the real channel layer, Redis and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import random
import signal
import time

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from pycrdt import Map

from collaboration import selectors
from collaboration.documents import document_definition
from collaboration.models import CollaborationEvent, Draft, DraftUpdate
from collaboration.services import draft_update_append
from config.tokens import access_token_issue
from tests.engine import workflow_from
from tests.servers import receive_json, web_server
from tests.yjs import YPeer, settled
from workflows import services as workflow_services

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def workflow(definition):
    return workflow_from(definition(name="drafted"))


def draft_path(workflow, user) -> str:
    return f"/ws/workflows/{workflow.pk}/draft/?token={access_token_issue(user=user)}"


def draft_api(workflow) -> str:
    return f"/api/collaboration/workflows/{workflow.pk}/draft"


def stored_definition(workflow) -> dict:
    draft = Draft.objects.get(workflow=workflow)
    doc, _ = selectors.draft_document(draft=draft)
    return document_definition(doc).definition


def node_ids(definition: dict) -> list[str]:
    return [node["id"] for node in definition["nodes"]]


def random_edit(peer: YPeer, rng: random.Random, number: int) -> None:
    """One edit a designer makes: add, move, rename, re-parameterize or remove a node,
    connect two nodes, or change the description."""
    nodes, edges, meta = peer.root("nodes"), peer.root("edges"), peer.root("meta")
    ids = sorted(nodes.keys())
    choice = rng.random()
    if choice < 0.2 or len(ids) < 3:
        node_id = f"{peer.name}-{number}"
        nodes[node_id] = Map({"type": "Logger", "$order": number,
                              "data": Map({"level": "info", "message": node_id}),
                              "position": {"x": rng.randint(0, 900), "y": rng.randint(0, 900)}})
    elif choice < 0.45:
        nodes[rng.choice(ids)]["position"] = {"x": rng.randint(0, 900), "y": rng.randint(0, 900)}
    elif choice < 0.7:
        node = nodes[rng.choice(ids)]
        if isinstance(node.get("data"), Map):
            node["data"]["message"] = f"{peer.name} edit {number}"
    elif choice < 0.8:
        source, target = rng.sample(ids, 2)
        edges[f"{source}->{target}"] = {"source": source, "target": target}
    elif choice < 0.9 and len(ids) > 4:
        del nodes[rng.choice([node_id for node_id in ids if node_id not in ("greet", "log")]
                             or ids)]
    else:
        meta["description"] = f"{peer.name} at {number}"


def test_three_editors_with_a_cut_end_with_one_draft_the_server_keeps(web, workflow, editor):
    """Three editors make 1,000 random edits at once; one loses its connection in the
    middle, goes on editing, and reconnects. Everyone, and the stored draft, ends equal."""
    rng = random.Random(15)
    peers = [YPeer(name) for name in ("ada", "bob", "cy")]
    path = draft_path(workflow, editor)

    async def go():
        for peer in peers:
            await peer.connect(web, path)
            await asyncio.wait_for(peer.synced.wait(), 10)
        for number in range(1000):
            peer = peers[number % 3]
            if number == 400:
                await peers[2].disconnect()  # cy's network is cut
            if number == 700:
                await peers[2].connect(web, path)  # and comes back
            random_edit(peer, rng, number)
            if number % 3 == 2:
                await asyncio.sleep(0.07)  # three edits, one from each, about 40 a second
        await settled(peers, timeout=30)
        final = peers[0].definition()
        deadline = asyncio.get_event_loop().time() + 20
        while await sync_to_async(stored_definition)(workflow) != final:
            assert asyncio.get_event_loop().time() < deadline, "the server kept another draft"
            await asyncio.sleep(0.1)
        for peer in peers:
            await peer.disconnect()
        return final

    final = async_to_sync(go)()
    # then every copy is the stored draft, which holds the offline peer's edits too
    assert final == stored_definition(workflow)
    assert any(node_id.startswith("cy-") and 400 <= int(node_id[3:]) < 700
               for node_id in node_ids(final)) or any(
        "cy edit" in str(node.get("data")) for node in final["nodes"])
    # and the edits were compacted into the snapshot as they gathered
    draft = Draft.objects.get(workflow=workflow)
    assert draft.compacted_seq > 0
    assert DraftUpdate.objects.filter(draft=draft).count() < 200
    assert draft.authors == [editor.pk]


def test_a_reader_follows_the_draft_and_cannot_change_it(web, workflow, viewer, editor,
                                                         caplog):
    async def go():
        reader, writer = YPeer("reader"), YPeer("writer")
        await reader.connect(web, draft_path(workflow, viewer))
        await writer.connect(web, draft_path(workflow, editor))
        for peer in (reader, writer):
            await asyncio.wait_for(peer.synced.wait(), 10)
        # when the writer edits, the reader sees it
        writer.root("meta")["description"] = "by the writer"
        await settled([reader, writer])
        # and when the reader edits, the server refuses it
        reader.root("meta")["description"] = "by the reader"
        deadline = asyncio.get_event_loop().time() + 10
        while not reader.denied:
            assert asyncio.get_event_loop().time() < deadline, "no refusal came"
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)
        seen_by_writer = writer.definition()["description"]
        for peer in (reader, writer):
            await peer.disconnect()
        return reader.denied, seen_by_writer

    denied, seen_by_writer = async_to_sync(go)()
    assert "workflow.write" in denied[0]
    assert seen_by_writer == "by the writer"
    assert stored_definition(workflow)["description"] == "by the writer"
    assert "draft edit refused" in web.output()


def test_validation_problems_reach_everyone_on_the_workflow_socket(web, workflow, editor,
                                                                   viewer):
    async def go():
        writer = YPeer("writer")
        async with web.websocket(f"/ws/workflows/{workflow.pk}/?token="
                                 f"{access_token_issue(user=viewer)}") as watcher:
            await writer.connect(web, draft_path(workflow, editor))
            await asyncio.wait_for(writer.synced.wait(), 10)
            # when the writer points the log node at a node type that does not exist
            writer.root("nodes")["log"]["type"] = "NoSuchType"
            while (frame := await receive_json(watcher))["type"] != "draft.problems":
                pass
            await writer.disconnect()
            return frame

    frame = async_to_sync(go)()
    # then the viewer's workflow socket got the report, naming the node
    assert frame["report"]["valid"] is False
    assert any(problem.get("node") == "log" for problem in frame["report"]["errors"])
    assert Draft.objects.get(workflow=workflow).report["valid"] is False


def test_two_editors_publish_one_version_with_both_as_co_authors(web, workflow, editor,
                                                                 client_for, django_user_model):
    other = django_user_model.objects.create_user("other-editor")
    other.groups.add(*editor.groups.all())

    async def go():
        first, second = YPeer("first"), YPeer("second")
        await first.connect(web, draft_path(workflow, editor))
        await second.connect(web, draft_path(workflow, other))
        for peer in (first, second):
            await asyncio.wait_for(peer.synced.wait(), 10)
        # when each edits a different node at the same moment
        first.root("nodes")["greet"]["position"] = {"x": 400, "y": 40}
        second.root("nodes")["log"]["data"]["message"] = "{{ nodes.greet.text }}!"
        await settled([first, second])
        expected = first.definition()
        deadline = asyncio.get_event_loop().time() + 10
        while await sync_to_async(stored_definition)(workflow) != expected:
            assert asyncio.get_event_loop().time() < deadline
            await asyncio.sleep(0.05)
        for peer in (first, second):
            await peer.disconnect()

    async_to_sync(go)()
    api = client_for(editor)
    draft = api.get(draft_api(workflow)).json()
    published = api.post(f"{draft_api(workflow)}/publish", {"change_note": "together"},
                         format="json")
    again = api.post(f"{draft_api(workflow)}/publish", {}, format="json")
    # then the draft listed both, and the new version holds both edits and both authors
    assert draft["authors"] == ["editor", "other-editor"] and draft["report"]["valid"]
    assert published.status_code == 201, published.json()
    assert published.json()["co_authors"] == ["editor", "other-editor"]
    workflow.refresh_from_db()
    version = workflow.current_version
    assert version.number == 2 and version.change_note == "together"
    nodes = {node["id"]: node for node in version.definition["nodes"]}
    assert nodes["greet"]["position"] == {"x": 400, "y": 40}
    assert nodes["log"]["data"]["message"] == "{{ nodes.greet.text }}!"
    # and publishing again with nothing new makes no version
    assert again.status_code == 200 and again.json()["version"] is None
    kinds = list(CollaborationEvent.objects.filter(workflow=workflow, kind="published")
                 .values_list("data", flat=True))
    assert kinds == [{"version": 2, "change_note": "together",
                      "co_authors": ["editor", "other-editor"]}]


def test_an_invalid_draft_is_not_published_and_says_why(workflow, editor, client_for):
    api = client_for(editor)
    api.get(draft_api(workflow))
    # given a draft whose node lost its type (an edit stored like any other)
    draft = Draft.objects.get(workflow=workflow)
    doc, _ = selectors.draft_document(draft=draft)
    before = doc.get_state()
    del doc.get("nodes", type=Map)["log"]["type"]
    draft_update_append(workflow_id=workflow.pk, update=doc.get_update(before), author=editor)
    response = api.post(f"{draft_api(workflow)}/publish", {}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "draft_invalid"
    assert any(problem.get("node") == "log" for problem in body["details"]["errors"])
    workflow.refresh_from_db()
    assert workflow.current_version.number == 1


def test_readers_may_read_the_draft_but_not_publish_it(workflow, viewer, client_for):
    api = client_for(viewer)
    assert api.get(draft_api(workflow)).status_code == 200
    assert api.post(f"{draft_api(workflow)}/publish", {}, format="json").status_code == 403
    assert client_for(None).get(draft_api(workflow)).status_code in (401, 403)


def test_a_version_saved_through_the_api_is_merged_into_the_open_draft(web, workflow, editor,
                                                                       definition):
    async def go():
        peer = YPeer("designer")
        await peer.connect(web, draft_path(workflow, editor))
        await asyncio.wait_for(peer.synced.wait(), 10)
        # given a designer who changed the log node's message in the draft
        peer.root("nodes")["log"]["data"]["message"] = "from the draft"
        await asyncio.sleep(0.3)
        # when someone saves version 2 through the API, changing the description only
        await sync_to_async(workflow_services.workflow_update)(
            workflow=workflow, actor=editor,
            definition=definition(name="drafted", description="from the API"))
        deadline = asyncio.get_event_loop().time() + 10
        while peer.definition().get("description") != "from the API":
            assert asyncio.get_event_loop().time() < deadline, peer.definition()
            await asyncio.sleep(0.05)
        result = peer.definition()
        await peer.disconnect()
        return result

    merged = async_to_sync(go)()
    # then the open draft holds both: the API's description and the designer's message
    assert merged["description"] == "from the API"
    assert {node["id"]: node for node in merged["nodes"]}["log"]["data"]["message"] == \
        "from the draft"
    assert Draft.objects.get(workflow=workflow).base_version == 2
    assert CollaborationEvent.objects.filter(
        workflow=workflow, kind="edited", data__merged_version=2).exists()


def test_edits_stored_before_a_crash_survive_it_and_a_second_process_serves_them(
        workflow, editor, tmp_path):
    """Kill -9 the web server in the middle of a stream of edits: every edit another peer
    received (the server relays an edit only after storing it) is in the draft a new
    process serves; the writer's other edits arrive when it reconnects."""
    writer, witness = YPeer("writer"), YPeer("witness")
    path = draft_path(workflow, editor)

    async def before_crash(web):
        for peer in (writer, witness):
            await peer.connect(web, path)
            await asyncio.wait_for(peer.synced.wait(), 10)
        for number in range(60):
            writer.root("nodes")[f"n{number}"] = Map({"type": "Logger", "$order": number,
                                                      "data": Map({"message": "x"})})
            await asyncio.sleep(0.02)
            if number == 40:
                web.process.send_signal(signal.SIGKILL)
        await asyncio.sleep(0.2)
        seen = {node for node in node_ids(witness.definition()) if node.startswith("n")}
        await writer.disconnect()
        await witness.disconnect()
        return seen

    async def after_restart(web):
        fresh = YPeer("fresh")
        await fresh.connect(web, path)
        await asyncio.wait_for(fresh.synced.wait(), 10)
        recovered = set(node_ids(fresh.definition()))
        await writer.connect(web, path)  # the writer comes back with everything it made
        await settled([fresh, writer], timeout=20)
        final = set(node_ids(fresh.definition()))
        await fresh.disconnect()
        await writer.disconnect()
        return recovered, final

    with web_server(tmp_path) as first:
        seen = async_to_sync(before_crash)(first)
        first.process.wait(timeout=10)
    with web_server(tmp_path) as second:
        recovered, final = async_to_sync(after_restart)(second)
    assert len(seen) >= 10
    assert seen <= recovered
    assert {f"n{number}" for number in range(60)} <= final
    deadline = time.monotonic() + 10
    while {f"n{number}" for number in range(60)} - set(node_ids(stored_definition(workflow))):
        assert time.monotonic() < deadline, "the reconnecting writer's edits were not stored"
        time.sleep(0.1)


def test_editors_on_two_web_processes_see_each_other(web, workflow, editor, tmp_path):
    async def go(other):
        here, there = YPeer("here"), YPeer("there")
        await here.connect(web, draft_path(workflow, editor))
        await there.connect(other, draft_path(workflow, editor))
        for peer in (here, there):
            await asyncio.wait_for(peer.synced.wait(), 10)
        here.root("meta")["description"] = "here"
        there.root("nodes")["greet"]["position"] = {"x": 1, "y": 2}
        await settled([here, there])
        result = here.definition()
        for peer in (here, there):
            await peer.disconnect()
        return result

    with web_server(tmp_path) as other:
        result = async_to_sync(go)(other)
    assert result["description"] == "here"
    assert {node["id"]: node for node in result["nodes"]}["greet"]["position"] == \
        {"x": 1, "y": 2}


def test_frames_that_are_not_the_protocol_close_the_socket(web, workflow, editor):
    async def go():
        codes = []
        for frame in (b"\x00\x09", "text", b"\x00\x02\x05\x01\x02\x03\x04\x05"):
            async with web.websocket(draft_path(workflow, editor)) as websocket:
                await websocket.recv()  # the server's step 1
                await websocket.send(frame)
                try:
                    while True:
                        await asyncio.wait_for(websocket.recv(), 5)
                except Exception:  # noqa: BLE001 - closed, as expected
                    codes.append(websocket.close_code)
        return codes

    assert async_to_sync(go)() == [4400, 4400, 4400]
    assert DraftUpdate.objects.count() == 0


def test_a_draft_nobody_changed_publishes_no_version(definition, editor, client_for):
    # given a workflow whose edges are not listed in label order
    workflow = workflow_from(definition(
        name="ordered",
        nodes=[{"id": "first", "type": "Logger", "data": {"message": "1"}},
               {"id": "second", "type": "Logger", "data": {"message": "2"}},
               {"id": "third", "type": "Logger", "data": {"message": "3"}}],
        edges=[{"source": "second", "target": "third"},
               {"source": "first", "target": "second"}]))
    api = client_for(editor)
    # when its draft is opened and published untouched
    api.get(draft_api(workflow))
    published = api.post(f"{draft_api(workflow)}/publish", {}, format="json")
    # then no version is made
    assert published.status_code == 200 and published.json()["version"] is None
    workflow.refresh_from_db()
    assert workflow.current_version.number == 1


def test_after_publishing_the_draft_holds_what_the_version_holds(workflow, editor,
                                                                  client_for):
    # given a draft in which the workflow's timeout setting was removed
    api = client_for(editor)
    api.get(draft_api(workflow))
    draft = Draft.objects.get(workflow=workflow)
    doc, _ = selectors.draft_document(draft=draft)
    before = doc.get_state()
    settings_ = doc.get("meta", type=Map)["settings"]
    doc.get("meta", type=Map)["settings"] = {k: v for k, v in settings_.items() if k != "timeout"}
    doc.get("meta", type=Map)["description"] = "changed"
    draft_update_append(workflow_id=workflow.pk, update=doc.get_update(before), author=editor)
    # when it is published (the save writes the default timeout out again)
    published = api.post(f"{draft_api(workflow)}/publish", {}, format="json")
    # then the draft holds the default too, and publishing again makes nothing
    assert published.status_code == 201
    assert stored_definition(workflow)["settings"]["timeout"] == 1800
    again = api.post(f"{draft_api(workflow)}/publish", {}, format="json")
    assert again.json()["version"] is None
