"""Differences between two definitions."""

from __future__ import annotations

import copy

from workflows.definitions import definition_diff

BEFORE = {
    "name": "orders",
    "settings": {"timeout": 1800},
    "nodes": [
        {
            "id": "fetch", "type": "HttpRequest",
            "data": {"url": "https://shop.example/orders", "headers": {"Accept": "text/plain"}},
            "position": {"x": 0, "y": 0},
        },
        {"id": "check", "type": "Conditional", "data": {"expression": "nodes.fetch.status == 200"}},
        {"id": "log", "type": "Logger", "data": {"message": "done"}},
    ],
    "edges": [
        {"source": "fetch", "target": "check"},
        {"source": "check", "target": "log", "sourceHandle": "true"},
    ],
}

EMPTY_GROUP = {"added": [], "removed": [], "changed": []}


def test_identical_definitions_have_no_diff():
    assert definition_diff(BEFORE, copy.deepcopy(BEFORE)) == {
        "nodes": EMPTY_GROUP, "edges": EMPTY_GROUP, "fields": [],
    }


def test_defaults_made_explicit_are_not_a_change():
    # given the same definition with its defaults written out
    after = copy.deepcopy(BEFORE)
    after.update(namespace="default", description="")
    after["settings"].update(max_retries=3, priority="normal")
    # then nothing changed
    assert definition_diff(BEFORE, after)["fields"] == []


def test_added_removed_and_changed_nodes_with_leaf_fields():
    # given a version that changes a header and the position of fetch, removes log and adds
    # notify
    after = copy.deepcopy(BEFORE)
    after["nodes"][0]["data"]["headers"]["Accept"] = "application/json"
    after["nodes"][0]["position"]["x"] = 40
    after["nodes"][2] = {"id": "notify", "type": "Logger", "data": {"message": "sent"}}
    # when diffed
    nodes = definition_diff(BEFORE, after)["nodes"]
    # then each change is named, down to the leaf field
    assert nodes["added"] == ["notify"]
    assert nodes["removed"] == ["log"]
    assert nodes["changed"] == [
        {
            "id": "fetch",
            "changes": [
                {
                    "field": "data.headers.Accept",
                    "before": "text/plain",
                    "after": "application/json",
                },
                {"field": "position.x", "before": 0, "after": 40},
            ],
        }
    ]


def test_fields_added_and_removed_inside_a_node():
    after = copy.deepcopy(BEFORE)
    del after["nodes"][0]["data"]["headers"]
    after["nodes"][0]["data"]["method"] = "POST"
    after["nodes"][0]["type"] = "HttpRequest"
    [fetch] = definition_diff(BEFORE, after)["nodes"]["changed"]
    assert fetch["changes"] == [
        {"field": "data.headers", "before": {"Accept": "text/plain"}, "after": None},
        {"field": "data.method", "before": None, "after": "POST"},
    ]


def test_a_boolean_replacing_a_number_is_a_change():
    before = {"name": "x", "nodes": [], "x-flag": 1}
    after = {"name": "x", "nodes": [], "x-flag": True}
    assert definition_diff(before, after)["fields"] == [
        {"field": "x-flag", "before": 1, "after": True}
    ]


def test_edges_are_identified_by_source_target_and_handle():
    # given a version whose Conditional now leads to log on false instead of true
    after = copy.deepcopy(BEFORE)
    after["edges"][1]["sourceHandle"] = "false"
    edges = definition_diff(BEFORE, after)["edges"]
    assert edges == {"added": ["check->log:false"], "removed": ["check->log:true"], "changed": []}


def test_edges_with_ids_are_changed_in_place():
    before = copy.deepcopy(BEFORE)
    before["edges"][0]["id"] = "e1"
    after = copy.deepcopy(before)
    after["edges"][0]["target"] = "log"
    edges = definition_diff(before, after)["edges"]
    assert edges["changed"] == [
        {"id": "e1", "changes": [{"field": "target", "before": "check", "after": "log"}]}
    ]


def test_top_level_fields():
    after = copy.deepcopy(BEFORE)
    after["settings"]["timeout"] = 60
    after["description"] = "Orders"
    after["inputs"] = {"type": "object"}
    after["triggers"] = [{"event": "order.created"}]
    fields = definition_diff(BEFORE, after)["fields"]
    assert sorted(fields, key=lambda change: change["field"]) == [
        {"field": "description", "before": "", "after": "Orders"},
        {"field": "inputs", "before": None, "after": {"type": "object"}},
        {"field": "settings.timeout", "before": 1800, "after": 60},
        {"field": "triggers", "before": None, "after": [{"event": "order.created"}]},
    ]
