"""The template sandbox: syntax checks, bounded work, mappings, opaque secrets."""

from __future__ import annotations

import pytest
from jinja2.sandbox import ImmutableSandboxedEnvironment

from workflows.templating import (
    Secret,
    SecretSource,
    TemplateRenderError,
    evaluate,
    expression_parse_error,
    is_template,
    named,
    render,
    render_budget,
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


@pytest.mark.parametrize("text", ["input.total >", "{{ a }} and {{ b }}", "{% if x %}", "",
                                  "(" * 5000 + "1" + ")" * 5000, "[" * 5000 + "]" * 5000,
                                  "1" * 5000, "x" + " | upper" * 20000])
def test_invalid_expressions(text):
    assert expression_parse_error(text).startswith("line ")


@pytest.mark.parametrize("text", ["{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}",
                                  "{{ " + "1" * 5000 + " }}"])
def test_templates_nesting_too_deeply_or_with_too_long_numbers_are_syntax_errors(text):
    assert template_parse_error(text).startswith("line ")


# --- bounded work -------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "9**(9**8) > 1",
    "{% autoescape 'x' | center(999999999) %}{% endautoescape %}",
    "{{ 'x' | center(999999999) }} and text",
    "{{ '%0999999999d' % 1 }} and text",
])
def test_checking_a_template_computes_nothing(text):
    # given templates whose constants would take minutes or gigabytes to compute
    # when they are checked (what saving and /api/workflows/validate do)
    checked = expression_parse_error(text) if "{" not in text else template_parse_error(text)
    # then they are only compiled: nothing of the value is computed
    assert checked is None
    sandbox_environment().from_string(text if "{" in text else "{{ " + text + " }}")


@pytest.mark.parametrize(("expression", "limit"), [
    ("9**(9**8) > 1", "WORKFLOW_TEMPLATE_MAX_INT_DIGITS"),
    ("2**20000", "WORKFLOW_TEMPLATE_MAX_INT_DIGITS"),
    ("(10**4000) * (10**4000)", "WORKFLOW_TEMPLATE_MAX_INT_DIGITS"),
    ("'x' * 5000000", "WORKFLOW_TEMPLATE_MAX_OUTPUT"),
    ("[1, 2] * 1000000", "WORKFLOW_TEMPLATE_MAX_OUTPUT"),
    ("('x' * 600000) + ('x' * 600000)", "WORKFLOW_TEMPLATE_MAX_OUTPUT"),
    ("('x' * 600000) ~ ('x' * 600000)", "WORKFLOW_TEMPLATE_MAX_OUTPUT"),
    ("'%999999999d' % 1", "WORKFLOW_TEMPLATE_MAX_OUTPUT"),
    ("'{:>999999999}'.format(1)", "WORKFLOW_TEMPLATE_MAX_OUTPUT"),
    ("'x' | center(999999999)", "WORKFLOW_TEMPLATE_MAX_OUTPUT"),
    ("'x'.ljust(999999999)", "WORKFLOW_TEMPLATE_MAX_OUTPUT"),
    ("('x' * 900000) | replace('x', 'yy')", "WORKFLOW_TEMPLATE_MAX_OUTPUT"),
    ("('x' * 900000).replace('x', 'yy')", "WORKFLOW_TEMPLATE_MAX_OUTPUT"),
    ("[('x' * 900000), ('x' * 900000)] | join", "WORKFLOW_TEMPLATE_MAX_OUTPUT"),
    ("('\\n' * 1000) | indent(2000)", "WORKFLOW_TEMPLATE_MAX_OUTPUT"),
    ("[1] | batch(999999999, 0) | list", "WORKFLOW_TEMPLATE_MAX_OUTPUT"),
])
def test_operations_that_would_build_too_much_are_refused_before_they_run(expression, limit):
    # when an expression would compute a huge number or build a huge value
    with pytest.raises(TemplateRenderError) as refused:
        evaluate(expression, {})
    # then it is refused, naming the limit, before the work is done
    assert limit in str(refused.value)


@pytest.mark.parametrize("template", [
    "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
    "{% for i in range(100000) recursive %}{% for j in range(100000) %}{% endfor %}"
    "{% endfor %}",
    "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}"
    "{{ f(60) }}",
    "{{ range(100000) | map('string') | map('length') | select('odd') | list | length }}"
    "{% for i in range(100000) %}{% set x = range(100000) | select('odd') | list %}"
    "{% endfor %}",
], ids=["nested-loops", "recursive-loop", "macro-recursion", "filters-in-a-loop"])
def test_a_render_that_builds_nothing_is_still_bounded_in_time(settings, template):
    # given a template that produces no output but would compute for hours
    settings.WORKFLOW_TEMPLATE_MAX_SECONDS = 1

    # when it is rendered, as a template and as an expression's surroundings
    with pytest.raises(TemplateRenderError) as refused:
        render(template, {}, path="data.x")

    # then it is stopped at the time limit, naming it
    assert "WORKFLOW_TEMPLATE_MAX_SECONDS" in str(refused.value)


@pytest.mark.parametrize(("expression", "named"), [
    ("9e307 * 10", "not a finite number"), ("'nan' | float", "not a finite number"),
    ("['inf' | float]", "not a finite number"), ("{'a': -1e308 * 10}", "not a finite number"),
    ("1000 | wordwrap(1)", "splitlines"),
])
def test_a_value_json_cannot_hold_or_a_filter_on_the_wrong_type_is_a_render_error(
        expression, named):
    # when an expression computes infinity or NaN, or a filter gets a type it cannot take
    for text in (expression, "{{ " + expression + " }}"):
        with pytest.raises(TemplateRenderError) as refused:
            evaluate(text, {})
        # then it is the render error a node reports, naming the problem
        assert named in str(refused.value)
    with pytest.raises(TemplateRenderError):
        render("{{ " + expression + " }}", {}, path="data.x")


@pytest.mark.parametrize(("template", "text"), [
    ("{% macro greet(name) %}Hello {{ name }}{% endmacro %}{{ greet('Ada') }}", "Hello Ada"),
    ("{% macro box() %}[{{ caller() }}]{% endmacro %}{% call box() %}x{% endcall %}", "[x]"),
    ("{% set line %}a{{ 1 + 1 }}{% endset %}{{ line }}", "a2"),
    ("{% filter upper %}ab{% endfilter %}", "AB"),
])
def test_macros_and_blocks_render(template, text):
    assert render(template, {}) == text


def test_a_block_is_held_to_the_output_limit(settings):
    settings.WORKFLOW_TEMPLATE_MAX_OUTPUT = 1000
    with pytest.raises(TemplateRenderError, match="WORKFLOW_TEMPLATE_MAX_OUTPUT"):
        render("{% set x %}{% for i in range(50) %}{{ 'x' * 100 }}{% endfor %}{% endset %}"
               "{{ x | length }}", {})


@pytest.mark.parametrize(("expression", "value"), [
    ("2 ** 10", 1024), ("'ab' * 3", "ababab"), ("[1] * 3", [1, 1, 1]), ("'a' ~ 1", "a1"),
    ("'%s-%05d' % ('a', 7)", "a-00007"), ("'{}:{:>4}'.format('a', 'b')", "a:   b"),
    ("'x' | center(5)", "  x  "), ("[1, 2] | join('-')", "1-2"), ("1 + 2", 3),
    ("'a,b'.split(',')", ["a", "b"]), ("range(3) | list | sum", 3),
])
def test_ordinary_arithmetic_and_text_still_work(expression, value):
    assert evaluate(expression, {}) == value


def test_a_lone_expression_is_held_to_the_output_limit(settings):
    # given a small output limit
    settings.WORKFLOW_TEMPLATE_MAX_OUTPUT = 1000
    scope = {"input": named("input", {"text": "x" * 600})}
    # then a value built from the input is measured on the native path too
    assert render("{{ input.text }}", scope) == "x" * 600
    with pytest.raises(TemplateRenderError, match=r"data\.v: .*1000 characters"):
        render("{{ [input.text, input.text] }}", scope, path="data.v")
    with pytest.raises(TemplateRenderError, match="1000 characters"):
        render("{{ input.text }}{{ input.text }}", scope)


# --- mappings and missing inputs ----------------------------------------------------------

def test_a_mappings_keys_win_over_its_methods():
    scope = {"input": named("input", {"items": [1, 2], "keys": "k"}),
             "nodes": named("nodes", {"fetch": {"values": 3}})}
    assert evaluate("input.items", scope) == [1, 2]
    assert evaluate("input.keys", scope) == "k"
    assert evaluate("nodes.fetch.values", scope) == 3
    assert evaluate("{'get': 1}.get", scope) == 1
    # a name that is not a key is still the method
    assert evaluate("input.get('missing', 5)", scope) == 5


def test_a_missing_input_is_undefined_but_testable():
    scope = {"input": named("input", {"order": 1})}
    assert evaluate("input.threshold is defined", scope) is False
    assert evaluate("input.threshold | default(5)", scope) == 5
    assert render("{{ input.threshold | default(5) }}", scope) == 5
    for use in ("input.threshold > 5", "input['threshold'] + 1", "{{ input.threshold }}"):
        with pytest.raises(TemplateRenderError, match=r"input\.threshold is not set"):
            evaluate(use, scope)


# --- secrets ------------------------------------------------------------------------------

@pytest.mark.parametrize("use", [
    "secrets.api_key | reverse", "secrets.api_key | list", "secrets.api_key[:6]",
    "secrets.api_key | upper", "secrets.api_key | string", "secrets.api_key | length",
    "secrets.api_key | first", "secrets.api_key | tojson", "secrets.api_key ~ ''",
    "'%s' % secrets.api_key", "'{}'.format(secrets.api_key)", "secrets.api_key + ''",
    "secrets.api_key == 'hunter2-token'", "'h' in secrets.api_key",
    "[secrets.api_key] | join", "secrets.api_key.upper()", "secrets | list",
    "secrets.api_key", "[secrets.api_key]", "secrets",
])
def test_a_secret_cannot_become_text_outside_a_credential_field(use):
    scope = {"secrets": _Secrets(api_key="hunter2-token")}
    for text in (use, "{{ " + use + " }}", "Value: {{ " + use + " }}"):
        with pytest.raises(TemplateRenderError) as refused:
            render(text if "{{" in text else "{{ " + text + " }}", scope, path="data.x")
        assert "hunter2" not in str(refused.value)
        assert str(refused.value).startswith("data.x: ")


def test_a_secret_placed_as_it_is_renders_in_a_credential_field():
    scope = {"secrets": _Secrets(api_key="hunter2-token")}
    assert render("Bearer {{ secrets.api_key }}", scope, reveal_secrets=True) == \
        "Bearer hunter2-token"
    assert render({"h": "{{ secrets.api_key }}"}, scope, reveal_secrets=True) == \
        {"h": "hunter2-token"}
    with pytest.raises(TemplateRenderError, match="reverse|only be placed"):
        render("{{ secrets.api_key | reverse }}", scope, reveal_secrets=True)
    with pytest.raises(TemplateRenderError, match="no secret named 'nope'"):
        render("{{ secrets.nope }}", scope, reveal_secrets=True)


class _Secrets(SecretSource):
    def __init__(self, **values: str) -> None:
        self.values = values

    def secret(self, name: str) -> Secret:
        return Secret(name, self.values[name])


def test_the_limit_holds_for_all_the_renders_sharing_a_budget(settings):
    # given a limit, and a value just under it
    settings.WORKFLOW_TEMPLATE_MAX_OUTPUT = 1000
    scope = {"input": named("input", {"text": "x" * 400})}
    # when several fields render it under one budget (a node attempt's data)
    budget = render_budget()
    assert render({"a": "{{ input.text }}", "b": "{{ input.text }}!"}, scope,
                  budget=budget) == {"a": "x" * 400, "b": "x" * 400 + "!"}
    # then the whole is held to the limit, not each string
    with pytest.raises(TemplateRenderError, match=r"c: .*1000 characters"):
        render({"c": "{{ input.text }}"}, scope, budget=budget)
