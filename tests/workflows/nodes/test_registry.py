"""The node type registry: built-ins, custom types, entry points and their metadata."""

from __future__ import annotations

import textwrap

import pytest

from workflows.definitions import definition_validate
from workflows.nodes import (
    NodeType,
    NodeTypeRegistrationError,
    NodeTypeRegistry,
    default_registry,
    registry_build,
    registry_reset,
)
from workflows.nodes.builtin import BUILTIN_NODE_TYPES

CUSTOM_MODULE = '''
from workflows.nodes.base import NodeType


class SlackMessage(NodeType):
    name = "SlackMessage"
    category = "integration"
    description = "Post a message to a Slack channel."
    data_schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["channel", "text"],
        "properties": {"channel": {"type": "string"}, "text": {"type": "string"}},
    }
    output_schema = {"type": "object", "properties": {"ts": {"type": "string"}}}
'''


class Approval(NodeType):
    name = "Approval"
    category = "wait"
    description = "A yes/no approval."
    data_schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["approver"],
        "properties": {"approver": {"type": "string"}},
    }
    output_schema = {"type": "object", "properties": {"approved": {"type": "boolean"}}}
    handles = ("yes", "no")
    waits = True


def test_custom_type_is_registered_and_used_by_validation():
    # given a registry with the built-ins and a custom type
    registry = NodeTypeRegistry(BUILTIN_NODE_TYPES)
    registry.register(Approval)
    definition = {
        "name": "custom",
        "nodes": [
            {"id": "ask", "type": "Approval", "data": {"approver": "ann"}},
            {"id": "log", "type": "Logger", "data": {"message": "approved"}},
        ],
        "edges": [{"source": "ask", "target": "log", "sourceHandle": "yes"}],
    }
    # then definitions using it validate, with its schema and handles
    assert definition_validate(definition, registry=registry).ok
    definition["nodes"][0]["data"] = {"approver": 7}
    definition["nodes"].append({"id": "loose", "type": "Approval", "data": {"approver": "bo"}})
    definition["edges"].append({"source": "loose", "target": "log", "sourceHandle": "maybe"})
    report = definition_validate(definition, registry=registry)
    assert [(p.code, p.field) for p in report.errors] == [
        ("invalid_node_data", "nodes[0].data.approver"),
        ("unknown_handle", "edges[1].sourceHandle"),
    ]
    assert registry.get("Approval") is Approval
    assert registry.names()[-1] == "Approval"
    assert registry.all()[-1] is Approval


def test_register_works_as_a_decorator():
    registry = NodeTypeRegistry()

    @registry.register
    class Ping(NodeType):
        name = "Ping"
        category = "utility"
        description = "Does nothing."
        data_schema = {"type": "object"}
        output_schema = {"type": "object"}

    assert registry.names() == ["Ping"] and registry.get("Ping") is Ping


def test_duplicate_name_is_refused():
    registry = NodeTypeRegistry(BUILTIN_NODE_TYPES)

    class OtherLogger(Approval):
        name = "Logger"

    with pytest.raises(NodeTypeRegistrationError, match="'Logger' is already registered"):
        registry.register(OtherLogger)


@pytest.mark.parametrize(
    ("attributes", "reason"),
    [
        ({"name": ""}, "`name`"),
        ({"category": "magic"}, "`category`"),
        ({"description": ""}, "`description`"),
        ({"data_schema": {}}, "`data_schema`"),
        ({"data_schema": {"type": "array"}}, "type: object"),
        ({"data_schema": {"type": "objekt"}}, "not a valid JSON Schema"),
        ({"output_schema": None}, "`output_schema`"),
        ({"handles": ("yes", "")}, "`handles`"),
    ],
)
def test_type_with_missing_metadata_is_refused(attributes, reason):
    incomplete = type("Incomplete", (Approval,), attributes)
    with pytest.raises(NodeTypeRegistrationError, match=reason):
        NodeTypeRegistry().register(incomplete)


def test_a_class_that_is_not_a_node_type_is_refused():
    with pytest.raises(NodeTypeRegistrationError, match="not a subclass"):
        NodeTypeRegistry().register(dict)  # type: ignore[arg-type]


def test_describe_holds_the_metadata_the_api_publishes():
    description = Approval.describe()
    assert description == {
        "name": "Approval",
        "category": "wait",
        "description": "A yes/no approval.",
        "data_schema": Approval.data_schema,
        "output_schema": Approval.output_schema,
        "handles": {"static": ["yes", "no"], "dynamic": False},
        "waits": True,
        "expression_fields": [],
        "secret_fields": [],
    }
    registry = NodeTypeRegistry([Approval])
    assert registry.describe_all() == [description]


def test_default_registry_without_django_settings_has_the_built_ins():
    # given Django settings are not configured in this test run
    registry_reset()
    # then the default registry holds the 18 built-in types, and is cached
    registry = default_registry()
    assert registry.names()[:18] == [node_type.name for node_type in BUILTIN_NODE_TYPES]
    assert default_registry() is registry
    registry_reset()
    assert default_registry() is not registry


def test_types_from_dotted_paths(tmp_path, monkeypatch):
    # given a module with a custom type, importable by its dotted path
    (tmp_path / "weft_custom_nodes.py").write_text(CUSTOM_MODULE)
    monkeypatch.syspath_prepend(tmp_path)
    # when a registry is built with its path
    registry = registry_build(["weft_custom_nodes.SlackMessage"])
    # then it is registered after the built-ins
    assert registry.names()[-1] == "SlackMessage"
    assert registry.get("SlackMessage").describe()["category"] == "integration"


def test_a_dotted_path_that_does_not_import_is_refused():
    with pytest.raises(NodeTypeRegistrationError, match="no_such_module.Thing"):
        registry_build(["no_such_module.Thing"])


def test_a_dotted_path_to_a_built_in_is_a_duplicate():
    with pytest.raises(NodeTypeRegistrationError, match="already registered"):
        registry_build(["workflows.nodes.builtin.Logger"])


def test_types_from_entry_points(tmp_path, monkeypatch):
    # given an installed distribution declaring a type in the weft.node_types group
    (tmp_path / "weft_plugin_nodes.py").write_text(CUSTOM_MODULE)
    dist_info = tmp_path / "weft_plugin-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: weft-plugin\nVersion: 1.0\n")
    (dist_info / "entry_points.txt").write_text(
        textwrap.dedent(
            """\
            [weft.node_types]
            slack = weft_plugin_nodes:SlackMessage
            """
        )
    )
    monkeypatch.syspath_prepend(tmp_path)
    # when a registry is built
    registry = registry_build()
    # then the entry point's type is in it
    assert "SlackMessage" in registry.names()
