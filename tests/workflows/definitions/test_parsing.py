"""Loading and dumping definitions as JSON and YAML."""

from __future__ import annotations

import json

import pytest

from workflows.definitions import DefinitionSyntaxError, definition_dump, definition_load
from workflows.definitions.parsing import MAX_ALIAS_EXPANSION

DEFINITION = {
    "name": "résumé-check",
    "description": "Ünïcode, quotes ' \" and a colon: fine",
    "settings": {"timeout": 60, "priority": "high"},
    "nodes": [
        {"id": "wait", "type": "Delay", "data": {"until": "2030-01-31T09:00:00Z"}},
        {"id": "log", "type": "Logger", "data": {"message": "yes", "level": "info"}},
        {"id": "t", "type": "Transform", "data": {"template": {"on": "no", "n": 1.5, "z": None}}},
    ],
    "edges": [{"source": "wait", "target": "log", "sourceHandle": None}],
}


def syntax_problem(text: str | bytes, fmt: str | None = None) -> dict:
    with pytest.raises(DefinitionSyntaxError) as caught:
        definition_load(text, fmt=fmt)
    problem = caught.value.problem
    assert problem.code == "syntax_error"
    return problem.as_dict()


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_dump_then_load_round_trips(fmt):
    # given a definition with unicode, YAML-ambiguous strings, dates and nulls
    # when it is dumped and loaded again, with the format given and detected
    text = definition_dump(DEFINITION, fmt=fmt)
    # then it is equal to the original
    assert definition_load(text, fmt=fmt) == DEFINITION
    assert definition_load(text) == DEFINITION


def test_yaml_dump_is_block_style_in_key_order_with_unicode():
    text = definition_dump(DEFINITION, fmt="yaml")
    assert text.startswith("name: résumé-check\ndescription:")
    assert "nodes:\n- id: wait\n" in text
    assert "{" not in text.split("template:")[0]


def test_json_dump_is_indented():
    text = definition_dump(DEFINITION, fmt="json")
    assert text.startswith('{\n  "name": "résumé-check",')
    assert json.loads(text) == DEFINITION


def test_unknown_format_is_refused():
    with pytest.raises(ValueError, match="format"):
        definition_dump(DEFINITION, fmt="toml")
    with pytest.raises(ValueError, match="format"):
        definition_load("{}", fmt="toml")


def test_bytes_and_bom_are_accepted():
    assert definition_load("\ufeffname: x\nnodes: []\n".encode()) == {"name": "x", "nodes": []}
    assert definition_load(b'{"name": "x"}', fmt="json") == {"name": "x"}


def test_yaml_dates_stay_strings():
    # given unquoted dates, which plain YAML turns into date objects
    loaded = definition_load("at: 2030-01-31T09:00:00Z\nday: 2030-01-31\n")
    # then they stay strings, as in JSON
    assert loaded == {"at": "2030-01-31T09:00:00Z", "day": "2030-01-31"}


def test_yaml_merge_keys_and_aliases_are_allowed():
    text = "base: &base {retries: 1, level: info}\nnode:\n  <<: *base\n  level: debug\n"
    assert definition_load(text)["node"] == {"retries": 1, "level": "debug"}


def test_yaml_syntax_error_has_line_and_column():
    problem = syntax_problem("name: x\nnodes: [\n  - broken", fmt="yaml")
    assert problem["details"] == {"line": 3, "column": 3}
    assert "line 3" in problem["message"]


def test_json_syntax_error_has_line_and_column():
    problem = syntax_problem('{\n  "name": "x",\n  "nodes": [,]\n}', fmt="json")
    assert problem["details"] == {"line": 3, "column": 13}


def test_detected_format_reports_the_yaml_error():
    problem = syntax_problem("name: x\n  bad: indent\n")
    assert problem["details"]["line"] == 2


def test_non_utf8_bytes_are_refused_with_their_position():
    problem = syntax_problem(b"name: x\nnodes: \xff\n")
    assert "UTF-8" in problem["message"]
    assert problem["details"] == {"line": 2, "column": 8}


@pytest.mark.parametrize(
    ("text", "kind"), [("- a\n- b\n", "a list"), ("just text", "a str"), ("", "an empty document")]
)
def test_top_level_must_be_a_mapping(text, kind):
    assert kind in syntax_problem(text)["message"]


@pytest.mark.parametrize(
    ("text", "fmt", "reason"),
    [
        ("a: 1\na: 2\n", "yaml", "duplicate key 'a'"),
        ('{"a": 1, "a": 2}', "json", "Duplicate key 'a'"),
        ("{1: one}", "yaml", "must be a string"),
        ("a: .inf", "yaml", "not a finite number"),
        ('{"a": NaN}', "json", "NaN at 'a' is not allowed"),
        ("a: !!binary aGVsbG8=", "yaml", "not allowed"),
        ("a: !!set {x, y}", "yaml", "not allowed"),
        ("a: !!python/name:os.system", "yaml", "could not determine a constructor"),
    ],
)
def test_values_that_are_not_json_are_refused(text, fmt, reason):
    assert reason in syntax_problem(text, fmt=fmt)["message"]


def test_alias_bomb_is_refused():
    # given the "billion laughs": each level aliases the previous one nine times
    lines = ["l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in range(1, 9):
        aliases = ", ".join([f"*l{level - 1}"] * 9)
        lines.append(f"l{level}: &l{level} [{aliases}]")
    # when it is loaded
    problem = syntax_problem("\n".join(lines))
    # then it is refused without being expanded
    assert f"at most {MAX_ALIAS_EXPANSION}" in problem["message"]


def test_moderate_alias_use_is_allowed():
    lines = ["h: &h {Accept: application/json}"] + [f"n{i}: *h" for i in range(200)]
    assert len(definition_load("\n".join(lines))) == 201


def test_recursive_alias_is_refused():
    assert "refers to its own anchor" in syntax_problem("a: &a [1, *a]")["message"]


def test_deep_nesting_is_a_syntax_error():
    assert "nested deeper than" in syntax_problem("[" * 100_000, fmt="json")["message"]


@pytest.mark.parametrize(("text", "fmt", "field"), [
    ('{"name": "x", "nodes": [{"id": "a", "data": {"n": NaN}}, {"id": "b", "data": {"n": 1e400}}]}',
     "json", "nodes[0].data.n"),
    ('name: x\nnodes:\n  - id: a\n    data: {note: "a\\0b"}\n', "yaml", "nodes[0].data.note"),
    ("name: x\nnodes:\n  - id: a\n    data: {n: " + "9" * 200 + "}\n", "yaml",
     "nodes[0].data.n"),
], ids=["json-nan", "yaml-nul", "yaml-digits"])
def test_a_value_over_a_limit_is_named_by_its_field(text, fmt, field):
    # given a definition whose nodes hold values over the limits every document keeps
    # when it is loaded, with its format named and detected
    for given in (fmt, None):
        problem = syntax_problem(text, fmt=given)
        # then the problem names the first such value, as the validator names fields
        assert problem["field"] == field, problem
        assert f"'{field}'" in problem["message"]
