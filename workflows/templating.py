"""The Jinja2 sandbox that templates and expressions of a definition run in.

Definitions are checked here at save time (does a template parse, does an expression
compile), and the engine renders with the same environment. Templates only ever run in
the sandbox: no Python `eval`, no attribute access to internals, bounded output.
"""

from __future__ import annotations

import functools
from typing import Any

from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, Undefined
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


MAX_RENDERED_CHARS = 1_000_000


class TemplateRenderError(Exception):
    """A template failed to render: an undefined name, a sandbox refusal, output too big."""


def _defined(value: Any) -> Any:
    """The value of an expression, refused when it is (or holds) an undefined name: a
    strict undefined only fails when used, and a lone `{{ input.missing }}` is not used."""
    if isinstance(value, Undefined):
        value._fail_with_undefined_error()
    if isinstance(value, dict):
        for item in value.values():
            _defined(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _defined(item)
    return value


def _render_text(text: str, scope: dict[str, Any]) -> Any:
    env = sandbox_environment()
    expression = single_expression(text)
    if expression is not None:
        return _defined(env.compile_expression(expression, undefined_to_none=False)(**scope))
    chunks: list[str] = []
    size = 0
    for chunk in env.from_string(text).generate(**scope):
        size += len(chunk)
        if size > MAX_RENDERED_CHARS:
            raise TemplateRenderError(
                f"the template's output exceeds {MAX_RENDERED_CHARS} characters"
            )
        chunks.append(chunk)
    return "".join(chunks)


def render(value: Any, scope: dict[str, Any], *, path: str = "") -> Any:
    """Render every template inside a JSON value, in the sandbox.

    A string that is exactly one `{{ expr }}` becomes the expression's native value
    (number, list, object); other strings with markup render to text, at most
    MAX_RENDERED_CHARS long. Errors name the path of the failing string.
    """
    if isinstance(value, str):
        if not is_template(value):
            return value
        try:
            return _render_text(value, scope)
        except TemplateRenderError as exc:
            raise TemplateRenderError(f"{path or 'value'}: {exc}") from None
        except (TemplateError, ArithmeticError, TypeError, ValueError, LookupError) as exc:
            raise TemplateRenderError(f"{path or 'value'}: {exc}") from None
    if isinstance(value, dict):
        return {key: render(item, scope, path=f"{path}.{key}" if path else key)
                for key, item in value.items()}
    if isinstance(value, list):
        return [render(item, scope, path=f"{path}[{index}]") for index, item in enumerate(value)]
    return value


def evaluate(expression: str, scope: dict[str, Any]) -> Any:
    """Evaluate an expression field (bare, or written as one `{{ expr }}`) in the sandbox."""
    source = single_expression(expression) or expression
    try:
        return _defined(
            sandbox_environment().compile_expression(source, undefined_to_none=False)(**scope))
    except (TemplateError, ArithmeticError, TypeError, ValueError, LookupError) as exc:
        raise TemplateRenderError(f"{expression!r}: {exc}") from None
