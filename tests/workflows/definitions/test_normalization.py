"""The normal form of a definition and its checksum."""

from __future__ import annotations

import copy

from workflows.definitions import (
    SETTINGS_DEFAULTS,
    definition_checksum,
    definition_dump,
    definition_load,
    definition_normalize,
)

DEFINITION = {
    "name": "hello",
    "nodes": [
        {"id": "greet", "type": "Transform", "data": {"template": {"text": "Hi {{ input.name }}"}}},
        {"id": "log", "type": "Logger"},
    ],
    "edges": [{"source": "greet", "target": "log"}],
}


def test_defaults_are_filled():
    # given a definition that sets nothing optional
    # when it is normalised
    normal = definition_normalize(DEFINITION)
    # then the documented defaults are explicit
    assert normal["namespace"] == "default"
    assert normal["description"] == ""
    assert normal["settings"] == SETTINGS_DEFAULTS
    assert normal["nodes"][1]["data"] == {}


def test_given_values_and_edges_are_kept_and_nothing_is_invented():
    definition = {**DEFINITION, "settings": {"timeout": 60}, "namespace": "sales"}
    normal = definition_normalize(definition)
    assert normal["settings"]["timeout"] == 60
    assert normal["namespace"] == "sales"
    assert normal["edges"] == [{"source": "greet", "target": "log"}]
    assert set(normal["nodes"][0]) == {"id", "type", "data"}
    assert set(normal) == {"name", "namespace", "description", "settings", "nodes", "edges"}


def test_input_is_not_modified():
    original = copy.deepcopy(DEFINITION)
    normal = definition_normalize(DEFINITION)
    normal["settings"]["dependencies"].append({"workflow": "x"})
    assert original == DEFINITION
    assert definition_normalize(DEFINITION)["settings"]["dependencies"] == []


def test_dependency_condition_and_missing_edges_get_defaults():
    normal = definition_normalize(
        {"name": "x", "nodes": [], "settings": {"dependencies": [{"workflow": "etl/load"}]}}
    )
    assert normal["settings"]["dependencies"] == [
        {"workflow": "etl/load", "condition": "completed"}
    ]
    assert normal["edges"] == []


def test_loop_body_nodes_get_data_defaults():
    loop = {
        "id": "each", "type": "Loop",
        "data": {"items": "input.rows", "body": {"nodes": [{"id": "a", "type": "Logger"}]}},
    }
    body = definition_normalize({"name": "x", "nodes": [loop]})["nodes"][0]["data"]["body"]
    assert body == {"nodes": [{"id": "a", "type": "Logger", "data": {}}], "edges": []}


def test_invalid_parts_are_left_for_validation():
    normal = definition_normalize({"name": "x", "settings": "fast", "nodes": "many"})
    assert (normal["settings"], normal["nodes"]) == ("fast", "many")


def test_checksum_ignores_key_order():
    reordered = dict(reversed(list(copy.deepcopy(DEFINITION).items())))
    reordered["nodes"][0] = dict(reversed(list(reordered["nodes"][0].items())))
    assert definition_checksum(reordered) == definition_checksum(DEFINITION)


def test_checksum_is_the_same_for_yaml_and_json():
    from_yaml = definition_load(definition_dump(DEFINITION, fmt="yaml"))
    from_json = definition_load(definition_dump(DEFINITION, fmt="json"))
    assert definition_checksum(from_yaml) == definition_checksum(from_json)


def test_checksum_ignores_defaults_written_out():
    assert definition_checksum(definition_normalize(DEFINITION)) == definition_checksum(DEFINITION)


def test_checksum_changes_with_content():
    changed = copy.deepcopy(DEFINITION)
    changed["nodes"][0]["data"]["template"]["text"] = "Hello {{ input.name }}"
    checksum = definition_checksum(DEFINITION)
    assert definition_checksum(changed) != checksum
    assert len(checksum) == 64 and int(checksum, 16) >= 0
