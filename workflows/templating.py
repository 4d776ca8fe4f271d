"""The Jinja2 sandbox that templates and expressions of a definition run in.

Definitions are checked here at save time (does a template parse, does an expression
compile); the engine renders with the same environment. Nothing here evaluates user text.
"""

from __future__ import annotations

import functools

from jinja2 import StrictUndefined, TemplateSyntaxError
from jinja2.sandbox import ImmutableSandboxedEnvironment


@functools.cache
def sandbox_environment() -> ImmutableSandboxedEnvironment:
    """The one shared sandbox: no autoescape, undefined names fail, no extensions, no loader.

    The immutable sandbox refuses access to Python internals and calls that mutate lists
    and dicts, and there is no loader, so `{% include %}` and `{% import %}` cannot reach
    any file.
    """
    return ImmutableSandboxedEnvironment(autoescape=False, undefined=StrictUndefined)


def is_template(text: str) -> bool:
    """Whether a string holds Jinja markup (an output `{{ }}` or a statement `{% %}`)."""
    return "{{" in text or "{%" in text


def _syntax_message(exc: TemplateSyntaxError) -> str:
    return f"line {exc.lineno}: {exc.message or exc}"


def template_parse_error(text: str) -> str | None:
    """The syntax error of a template as "line N: message", or None when it parses."""
    try:
        sandbox_environment().parse(text)
    except TemplateSyntaxError as exc:
        return _syntax_message(exc)
    return None


def single_expression(text: str) -> str | None:
    """The expression inside a string that is exactly one `{{ expr }}`, else None.

    Surrounding whitespace is allowed. The Jinja lexer finds the delimiters, so `}}` inside
    the expression (a dict literal, a string) does not end it early.
    """
    try:
        tokens = list(sandbox_environment().lex(text))
    except TemplateSyntaxError:
        return None
    significant = [
        (index, kind)
        for index, (_, kind, value) in enumerate(tokens)
        if not (kind == "data" and not value.strip())
    ]
    if len(significant) < 2:
        return None
    (first, first_kind), (last, last_kind) = significant[0], significant[-1]
    if first_kind != "variable_begin" or last_kind != "variable_end":
        return None
    inner = tokens[first + 1 : last]
    if any(kind in ("variable_begin", "variable_end", "data") for _, kind, _ in inner):
        return None
    return "".join(value for _, _, value in inner)


def expression_parse_error(text: str) -> str | None:
    """The syntax error of an expression as "line N: message", or None when it compiles.

    The expression may be written bare (`input.total > 1000`) or as one
    `{{ input.total > 1000 }}`.
    """
    source = single_expression(text)
    try:
        sandbox_environment().compile_expression(text if source is None else source)
    except TemplateSyntaxError as exc:
        return _syntax_message(exc)
    return None
