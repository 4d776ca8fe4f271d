"""The Jinja2 sandbox that templates and expressions of a definition run in.

Definitions are checked here at save time (does a template parse, does an expression
compile), and the engine renders with the same environment. Templates only ever run in
the sandbox: no Python `eval`, no attribute access to internals, and bounded work:

- nothing is computed while a template compiles (no constant folding), so checking a
  definition costs time in proportion to its text;
- `**`, `*`, `+`, `%`, `~`, string formatting, every filter and every call are checked
  before they build a value: an integer over WORKFLOW_TEMPLATE_MAX_INT_DIGITS digits, or
  a text, list or object over WORKFLOW_TEMPLATE_MAX_OUTPUT characters, is refused;
- a rendered text, and the native value of a lone `{{ expr }}`, are measured against the
  same limit;
- a render runs at most WORKFLOW_TEMPLATE_MAX_SECONDS: every loop iteration and every call
  (a macro's included) checks the clock, so loops that build nothing (`{% for i in
  range(100000) %}{% for j in range(100000) %}`) and recursion are bounded in time too.

Secrets are `Secret` objects here: placed as they are, they render only into the fields a
node type declares secret-bearing; any operation on them (a filter, slicing, iteration,
comparison, concatenation, turning them into text) is refused.

The package: `values` (secrets and the scope's named roots), `limits` (the size and time
checks), `sandbox` (the environment that applies them); this module parses, renders and
evaluates with it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from jinja2 import TemplateError, TemplateSyntaxError

from workflows.templating.limits import max_output, time_bound, too_big
from workflows.templating.sandbox import finished, sandbox_environment
from workflows.templating.values import (
    Secret,
    SecretMisuse,
    SecretSource,
    TemplateLimitError,
    TemplateRenderError,
    named,
    reveal,
    secret_text,
)

__all__ = [
    "Secret", "SecretMisuse", "SecretSource", "TemplateLimitError", "TemplateRenderError",
    "evaluate", "expression_parse_error", "is_template", "named", "render", "render_budget",
    "sandbox_environment", "secret_text", "single_expression", "template_names",
    "template_parse_error",
]


def is_template(text: str) -> bool:
    """Whether a string holds Jinja markup (an output `{{ }}` or a statement `{% %}`)."""
    return "{{" in text or "{%" in text


def _syntax_message(exc: TemplateSyntaxError) -> str:
    return f"line {exc.lineno}: {exc.message or exc}"


def _unreadable(exc: ValueError | RecursionError) -> str:
    """An integer literal longer than Python reads, or nesting deeper than it compiles."""
    if isinstance(exc, RecursionError):
        return "line 1: the expression nests too deeply to compile"
    return f"line 1: {exc}"


def template_parse_error(text: str) -> str | None:
    """The syntax error of a template as "line N: message", or None when it parses."""
    try:
        sandbox_environment().parse(text)
    except TemplateSyntaxError as exc:
        return _syntax_message(exc)
    except (ValueError, RecursionError) as exc:
        return _unreadable(exc)
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
    except (ValueError, RecursionError) as exc:
        return _unreadable(exc)
    return None


def _render_text(text: str, scope: dict[str, Any], budget: list[int]) -> Any:
    env = sandbox_environment()
    expression = single_expression(text)
    if expression is not None:
        value = env.compile_expression(expression, undefined_to_none=False)(**scope)
        return finished(value, budget)
    chunks: list[str] = []
    for chunk in env.from_string(text).generate(**scope):
        budget[0] -= len(chunk)
        if budget[0] < 0:
            raise too_big("the rendered text")
        chunks.append(chunk)
    return "".join(chunks)


# AttributeError: a filter given the wrong type (`1 | wordwrap`) reaches for a method.
_RENDER_ERRORS = (TemplateError, ArithmeticError, AttributeError, TypeError, ValueError,
                  LookupError, MemoryError, RecursionError)


def render_budget() -> list[int]:
    """The characters renders may still produce, shared by the calls it is passed to."""
    return [max_output()]


def render(value: Any, scope: dict[str, Any], *, path: str = "",
           reveal_secrets: bool = False, budget: list[int] | None = None) -> Any:
    """Render every template inside a JSON value, in the sandbox.

    A string that is exactly one `{{ expr }}` becomes the expression's native value
    (number, list, object); other strings with markup render to text. All of them together
    are at most WORKFLOW_TEMPLATE_MAX_OUTPUT characters, or what is left of `budget` (one
    budget for every field of a node attempt). A secret placed as it is becomes its value
    only with `reveal_secrets` (a secret-bearing field); anywhere else it is refused.
    Errors name the path of the failing string.
    """
    budget = render_budget() if budget is None else budget
    if isinstance(value, str):
        if not is_template(value):
            return value
        token = reveal.set(reveal_secrets)
        try:
            with time_bound():
                return _render_text(value, scope, budget)
        except _RENDER_ERRORS as exc:
            raise TemplateRenderError(f"{path or 'value'}: {exc}") from None
        finally:
            reveal.reset(token)
    if isinstance(value, dict):
        return {key: render(item, scope, path=f"{path}.{key}" if path else key,
                            reveal_secrets=reveal_secrets, budget=budget)
                for key, item in value.items()}
    if isinstance(value, list):
        return [render(item, scope, path=f"{path}[{index}]", reveal_secrets=reveal_secrets,
                       budget=budget)
                for index, item in enumerate(value)]
    return value


def evaluate(expression: str, scope: dict[str, Any], *,
             budget: list[int] | None = None) -> Any:
    """Evaluate an expression field (bare, or written as one `{{ expr }}`) in the sandbox;
    a secret in its value is refused, and its size counts against `budget` as in
    `render`."""
    source = single_expression(expression) or expression
    try:
        with time_bound():
            value = sandbox_environment().compile_expression(
                source, undefined_to_none=False)(**scope)
            return finished(value, render_budget() if budget is None else budget)
    except _RENDER_ERRORS as exc:
        raise TemplateRenderError(f"{expression!r}: {exc}") from None


def template_names(text: str) -> Iterator[tuple[str, str]]:
    """The `(root, key)` pairs a template or expression reads as `root.key` or
    `root['key']`, e.g. ('input', 'threshold'); nothing when it does not compile."""
    from jinja2 import nodes

    env = sandbox_environment()
    source = single_expression(text)
    try:
        if source is None and not is_template(text):
            tree = env.parse(f"{{{{ {text} }}}}")
        else:
            tree = env.parse(text)
    except (TemplateSyntaxError, ValueError, RecursionError):
        return
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        if not isinstance(node.node, nodes.Name):
            continue
        if isinstance(node, nodes.Getattr):
            yield node.node.name, node.attr
        elif isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
            yield node.node.name, node.arg.value
