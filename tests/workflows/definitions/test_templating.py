"""The template sandbox's syntax checks."""

from __future__ import annotations

import pytest
from jinja2.sandbox import ImmutableSandboxedEnvironment

from workflows.templating import (
    expression_parse_error,
    is_template,
    sandbox_environment,
    single_expression,
    template_parse_error,
)


def test_one_cached_immutable_sandbox():
    env = sandbox_environment()
    assert env is sandbox_environment()
    assert isinstance(env, ImmutableSandboxedEnvironment)
    assert env.autoescape is False and env.loader is None and not env.extensions


@pytest.mark.parametrize(
    ("text", "expected"),
    [("plain", False), ("{{ x }}", True), ("{% if x %}y{% endif %}", True), ("{ x }", False)],
)
def test_is_template(text, expected):
    assert is_template(text) is expected


def test_template_parse_error_has_the_line():
    assert template_parse_error("Hello {{ input.name }}") is None
    error = template_parse_error("one\ntwo {% if x %}")
    assert error is not None and error.startswith("line 2:")


@pytest.mark.parametrize(
    ("text", "expression"),
    [
        ("{{ x }}", " x "),
        ("  {{ a + 1 }}\n", " a + 1 "),
        ("{{ {'k': {'v': 1}} }}", " {'k': {'v': 1}} "),
        ("{{ a }} and {{ b }}", None),
        ("total: {{ a }}", None),
        ("{{ a", None),
        ("a > 1", None),
    ],
)
def test_single_expression(text, expression):
    assert single_expression(text) == expression


@pytest.mark.parametrize("text", ["input.total > 1000", "{{ input.total > 1000 }}", "x | length"])
def test_valid_expressions(text):
    assert expression_parse_error(text) is None


@pytest.mark.parametrize("text", ["input.total >", "{{ a }} and {{ b }}", "{% if x %}", ""])
def test_invalid_expressions(text):
    assert expression_parse_error(text).startswith("line ")
