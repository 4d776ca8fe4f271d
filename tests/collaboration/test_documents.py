"""The draft's document and its definition, both ways, without a database or a socket."""

from __future__ import annotations

import copy

import pytest
from pycrdt import Array, Doc, Map

from collaboration.documents import document_apply, document_definition
from collaboration.protocol import (
    EMPTY_UPDATE,
    ProtocolError,
    message_denied,
    message_read,
    message_sync,
    update_check,
)

DEFINITION = {
    "name": "orders", "namespace": "shop", "description": "Orders",
    "nodes": [
        {"id": "fetch", "type": "HttpRequest", "data": {"url": "https://example.com",
                                                          "timeout": 5},
         "position": {"x": 10, "y": 20}},
        {"id": "log", "type": "Log", "data": {"message": "{{ fetch.status }}"},
         "retry": {"maximum_attempts": 3}},
    ],
    "edges": [{"source": "fetch", "target": "log"}],
}


def seeded(definition: dict | None = None) -> Doc:
    doc = Doc()
    document_apply(doc, {}, definition or DEFINITION)
    return doc


def copy_of(doc: Doc) -> Doc:
    other = Doc()
    other.apply_update(doc.get_update())
    return other


def test_a_definition_comes_back_from_its_document_as_it_went_in():
    # given a definition with integers, nested data and an edge
    doc = seeded()
    # when it is read back, then it is the same definition (integers stay integers)
    assert document_definition(doc).definition == DEFINITION
    assert document_definition(doc).problems == []


def test_edits_of_different_fields_of_one_node_both_stay():
    # given two copies of one draft
    alice, bob = seeded(), None
    bob = copy_of(alice)
    # when each changes a different data field of the same node at the same moment
    alice.get("nodes", type=Map)["fetch"]["data"]["url"] = "https://a.example"
    bob.get("nodes", type=Map)["fetch"]["data"]["timeout"] = 30
    alice_update, bob_update = alice.get_update(), bob.get_update()
    alice.apply_update(bob_update)
    bob.apply_update(alice_update)
    # then both copies hold both changes
    for doc in (alice, bob):
        data = document_definition(doc).definition["nodes"][0]["data"]
        assert data == {"url": "https://a.example", "timeout": 30}


def test_concurrent_changes_of_one_field_converge_on_one_value():
    alice = seeded()
    bob = copy_of(alice)
    alice.get("meta", type=Map)["description"] = "from alice"
    bob.get("meta", type=Map)["description"] = "from bob"
    alice_update, bob_update = alice.get_update(), bob.get_update()
    alice.apply_update(bob_update)
    bob.apply_update(alice_update)
    assert document_definition(alice).definition == document_definition(bob).definition
    assert document_definition(alice).definition["description"] in ("from alice", "from bob")


def test_a_version_saved_elsewhere_is_merged_key_by_key():
    # given a draft in which someone renamed the log node's message
    doc = seeded()
    doc.get("nodes", type=Map)["log"]["data"]["message"] = "edited in the draft"
    # when a version saved through the API (from the same base) changed the fetch url,
    # added a node and an edge, and removed nothing else
    after = copy.deepcopy(DEFINITION)
    after["nodes"][0]["data"]["url"] = "https://api.example"
    after["nodes"].append({"id": "done", "type": "Log", "data": {"message": "done"}})
    after["edges"].append({"source": "log", "target": "done"})
    document_apply(doc, DEFINITION, after)
    # then the draft holds both the API's changes and its own
    merged = document_definition(doc).definition
    assert merged["nodes"][0]["data"]["url"] == "https://api.example"
    assert merged["nodes"][1]["data"]["message"] == "edited in the draft"
    assert [node["id"] for node in merged["nodes"]] == ["fetch", "log", "done"]
    assert merged["edges"] == [{"source": "fetch", "target": "log"},
                               {"source": "log", "target": "done"}]


def test_what_is_not_json_is_a_problem_that_names_its_place():
    doc = seeded()
    doc.get("nodes", type=Map)["fetch"]["data"]["timeout"] = float("nan")
    doc.get("meta", type=Map)["settings"] = {"limit": float("inf")}
    problems = document_definition(doc).problems
    assert {(problem.code, problem.node, problem.field) for problem in problems} == {
        ("value_not_finite", "fetch", "data"), ("value_not_finite", None, "settings")}


def test_a_root_filled_as_another_type_reads_as_empty_and_fails_validation():
    # given a client that made `meta` a list instead of a map
    other = Doc()
    other.get("meta", type=Array).append(1)
    doc = seeded()
    doc.apply_update(other.get_update())
    # when the draft is read, then its meta is what the map holds, and nothing breaks
    assert document_definition(doc).definition["name"] == "orders"
    fresh = Doc()
    fresh.apply_update(other.get_update())
    assert document_definition(fresh).definition == {"nodes": [], "edges": []}


def test_sync_messages_are_read_back_and_garbage_is_refused():
    state = seeded().get_state()
    assert message_read(message_sync(0, state)) == (0, 0, state)
    assert message_read(message_denied("no"))[0] == 2
    for garbage in (b"", b"\x00", b"\x00\x07\x01a", b"\x00\x01\x05ab", b"\x00\x00\xff"):
        with pytest.raises(ProtocolError):
            message_read(garbage)
    update_check(EMPTY_UPDATE)
    with pytest.raises(ProtocolError):
        update_check(b"\x01\x02\x03\x04\x05not an update")
