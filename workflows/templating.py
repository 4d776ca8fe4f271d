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
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import math
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from string import Formatter
from typing import Any

from django.conf import settings
from jinja2 import (
    StrictUndefined,
    TemplateError,
    TemplateSyntaxError,
    Undefined,
    pass_context,
)
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError
from jinja2.nodes import Call, Concat, EnvironmentAttribute, For
from jinja2.runtime import Context, markup_join, str_join
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import _PassArg


class TemplateRenderError(Exception):
    """A template failed to render: an undefined name, a sandbox refusal, output too big."""


class TemplateLimitError(SecurityError):
    """A template would build a value over the configured size."""


class SecretMisuse(SecurityError):
    """A secret was used other than placed, as it is, in a secret-bearing field."""


class Secret:
    """`secrets.<name>` in a template: a value that cannot become ordinary text there.

    Every way to look into it is refused. The renderer unwraps it only when it is placed,
    as it is, in a field its node type declares secret-bearing (`reveal_secrets`).
    """

    __slots__ = ("_name", "_value")

    def __init__(self, name: str, value: str) -> None:
        self._name = name
        self._value = value

    def __repr__(self) -> str:
        return f"<secret {self._name}>"

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise SecretMisuse(
            f"secrets.{self._name} can only be placed as it is, e.g. "
            f"'{{{{ secrets.{self._name} }}}}', in a field that carries credentials; "
            "filters, operators, slicing and comparisons do not apply to it")

    __str__ = __format__ = __iter__ = __reversed__ = __len__ = __getitem__ = _refuse
    __contains__ = __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = _refuse
    __add__ = __radd__ = __mul__ = __rmul__ = __mod__ = __rmod__ = _refuse
    __hash__ = object.__hash__


def secret_text(secret: Secret) -> str:
    """The value of a secret, for the renderer and the node reading its own credential."""
    return secret._value


class SecretSource:
    """`secrets` in a template: `secrets.<name>` is a `Secret`; nothing else can be read
    from it (no attributes, no iteration, no listing of names)."""

    def secret(self, name: str) -> Secret:
        """The named secret; KeyError when there is none."""
        raise NotImplementedError

    def __getitem__(self, name: str) -> Secret:
        return self.secret(name)

    def __iter__(self) -> Iterator[str]:
        raise SecretMisuse("the names of the secrets cannot be listed in a template")


class Named(dict):
    """A mapping at the root of the scope (`input`, `vars`, `nodes`) that knows its name, so a
    missing key says which one (`input.threshold is not set`)."""

    __slots__ = ("_path",)

    def __init__(self, path: str, values: Mapping[str, Any] | None) -> None:
        super().__init__(values or {})
        self._path = path


def named(path: str, values: Any) -> Any:
    """`values` as a `Named` mapping when it is a mapping, else unchanged."""
    return Named(path, values) if isinstance(values, Mapping) else values


def _missing(path: str, key: str) -> str:
    return (f"{path}.{key} is not set; test it with '{path}.{key} is defined' or give a "
            f"default with '{path}.{key} | default(...)'")


# Set while a secret-bearing field renders: a Secret placed there becomes its value.
_reveal = contextvars.ContextVar("reveal_secrets", default=False)


def max_output() -> int:
    return settings.WORKFLOW_TEMPLATE_MAX_OUTPUT


def _max_int_bits() -> int:
    return int(settings.WORKFLOW_TEMPLATE_MAX_INT_DIGITS * math.log2(10)) + 1


def _too_big(what: str) -> TemplateLimitError:
    return TemplateLimitError(
        f"{what} would exceed {max_output()} characters (WORKFLOW_TEMPLATE_MAX_OUTPUT)")


def _too_long_number() -> TemplateLimitError:
    return TemplateLimitError(
        f"the result would be a number over {settings.WORKFLOW_TEMPLATE_MAX_INT_DIGITS} digits "
        "(WORKFLOW_TEMPLATE_MAX_INT_DIGITS)")


def size_of(value: Any, budget: int) -> int:
    """About how many characters `value` takes as text or JSON; stops counting once over
    `budget`, so measuring costs at most about `budget` steps whatever the value holds."""
    total = 0
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str | bytes):
            total += len(item)
        elif isinstance(item, Mapping):
            total += 2 + 2 * len(item)
            if total <= budget:
                pending.extend(item.keys())
                pending.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            total += 2 + len(item)
            if total <= budget:
                pending.extend(item)
        elif isinstance(item, int) and not isinstance(item, bool):
            total += item.bit_length() // 3 + 1
        else:
            total += 8
        if total > budget:
            return total
    return total


def _refuse_secrets(*values: Any) -> None:
    for value in values:
        if isinstance(value, Secret):
            value._refuse()


def _check_int_bits(bits: float) -> None:
    if bits > _max_int_bits():
        raise _too_long_number()


def _check_size(value: Any, what: str = "the result") -> Any:
    if size_of(value, max_output()) > max_output():
        raise _too_big(what)
    return value


def _check_sizes(total: int, what: str) -> None:
    if total > max_output():
        raise _too_big(what)


_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?[a-zA-Z%]")
_FORMAT_NUMBERS = re.compile(r"\d+")


def _check_percent_format(template: str, args: Any) -> None:
    """`template % args` stays within the limit: widths are bounded, and each field holds at
    most the whole of `args`."""
    specs = _PERCENT_SPEC.findall(template)
    widths = 0
    for width, precision in specs:
        if "*" in (width, precision):
            raise SecurityError("'*' widths are not supported in templates")
        widths += int(width or 0) + int(precision or 0)
        _check_sizes(widths, "the formatted text")
    _check_sizes(len(template) + widths + len(specs) * size_of(args, max_output()),
                 "the formatted text")


def _check_brace_format(template: str, args: Any, kwargs: Any) -> None:
    """`template.format(...)` stays within the limit, as `_check_percent_format`."""
    fields = widths = 0
    for _, field, spec, _ in Formatter().parse(template):
        if field is None:
            continue
        if spec and "{" in spec:
            raise SecurityError("nested format fields are not supported in templates")
        fields += 1
        widths += sum(int(number) for number in _FORMAT_NUMBERS.findall(spec or ""))
        _check_sizes(widths, "the formatted text")
    _check_sizes(len(template) + widths + fields * size_of((args, kwargs), max_output()),
                 "the formatted text")


# Filters and string methods whose numeric arguments are widths, counts or indents.
_SIZE_ARGUMENTS = frozenset({"center", "ljust", "rjust", "zfill", "expandtabs", "indent",
                             "batch", "slice", "tojson", "wordwrap", "truncate"})
# Filters that turn their whole input into text.
_TEXT_OF_INPUT = frozenset({"string", "pprint", "tojson", "urlencode", "xmlattr", "escape",
                            "e", "forceescape", "safe", "sum"})


def _check_arguments(args: tuple, kwargs: dict) -> None:
    for value in (*args, *kwargs.values()):
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > max_output():
            raise _too_big(f"an argument of {value}")


def _bounded_inputs(name: str, value: Any, args: tuple, kwargs: dict,
                    *, method: bool) -> tuple[Any, tuple]:
    """Refuse, before it runs, a filter or string method whose result would be over the
    limit: a width of 10**9, a join or replacement that multiplies its input, the text of
    a value that is itself too big. Returns the value and arguments to call it with (an
    iterator to join is read into a list first, to be measured)."""
    budget = max_output()
    if name in _SIZE_ARGUMENTS:
        _check_arguments(args, kwargs)
    if name in _TEXT_OF_INPUT:
        _check_size(value, "the input")
    if name == "join":
        if method:
            items = args[0] if args else []
            items = items if isinstance(items, list | tuple | str) else list(items)
            separator, args = value, (items, *args[1:])
        else:
            value = items = value if isinstance(value, list | tuple | str) else list(value)
            separator = args[0] if args else kwargs.get("d", "")
        _check_sizes(len(items) * size_of(separator, budget) + size_of(items, budget),
                     "the joined text")
    elif name == "replace" and isinstance(value, str) and len(args) >= 2:
        old, new = str(args[0]), str(args[1])
        count = value.count(old) if old else len(value) + 1
        _check_sizes(len(value) + count * len(new), "the replaced text")
    elif name == "indent" and isinstance(value, str):
        width = args[0] if args else kwargs.get("width", 4)
        width = len(width) if isinstance(width, str) else int(width)
        _check_sizes(len(value) + (value.count("\n") + 1) * width, "the indented text")
    elif name == "expandtabs" and isinstance(value, str):
        _check_sizes(len(value) + value.count("\t") * int(args[0] if args else 8),
                     "the expanded text")
    elif name == "translate" and isinstance(value, str) and args and isinstance(args[0], Mapping):
        widest = max((size_of(item, budget) for item in args[0].values()), default=1)
        _check_sizes(len(value) * max(widest, 1), "the translated text")
    elif name == "tojson":
        indent = kwargs.get("indent", args[0] if args else None) or 0
        _check_sizes(size_of(value, budget) * (int(indent) + 1), "the JSON text")
    elif name == "format" and isinstance(value, str):
        _check_percent_format(value, kwargs or args)
    return value, args


def _bounded_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """A filter that refuses secrets and values over the limit. Taking the context also
    keeps the compiler from running the filter on constants while it compiles."""
    passes = _PassArg.from_obj(function)

    @pass_context
    @functools.wraps(function)
    def bounded(context: Context, value: Any, *args: Any, **kwargs: Any) -> Any:
        _refuse_secrets(value, *args, *kwargs.values())
        value, args = _bounded_inputs(name, value, args, kwargs, method=False)
        if passes is _PassArg.context:
            result = function(context, value, *args, **kwargs)
        elif passes is _PassArg.eval_context:
            result = function(context.eval_ctx, value, *args, **kwargs)
        elif passes is _PassArg.environment:
            result = function(context.environment, value, *args, **kwargs)
        else:
            result = function(value, *args, **kwargs)
        return _check_size(result, f"the result of the filter '{name}'")

    return bounded


@pass_context
def _finalize(context: Context, value: Any) -> Any:
    """Each `{{ }}` of a text: a secret becomes its value only in a secret-bearing field.

    Taking the context also keeps the compiler from computing constant outputs while it
    compiles."""
    if isinstance(value, Secret):
        if not _reveal.get():
            value._refuse()
        return secret_text(value)
    if isinstance(value, SecretSource):
        raise SecretMisuse("secrets can only be used one at a time, as secrets.<name>")
    _check_size(value, "the value")
    if isinstance(value, Mapping | list | tuple):
        _finished(value, [max_output()])  # a secret inside a list or object is refused too
    return value


_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "template_deadline", default=None)


def _check_time() -> None:
    deadline = _deadline.get()
    if deadline is not None and time.monotonic() > deadline:
        raise TemplateLimitError(
            f"the template ran longer than {settings.WORKFLOW_TEMPLATE_MAX_SECONDS} s "
            "(WORKFLOW_TEMPLATE_MAX_SECONDS)")


@contextlib.contextmanager
def _time_bound() -> Iterator[None]:
    """The outermost render or evaluation sets the deadline; nested ones keep it."""
    if _deadline.get() is not None:
        yield
        return
    token = _deadline.set(time.monotonic() + settings.WORKFLOW_TEMPLATE_MAX_SECONDS)
    try:
        yield
    finally:
        _deadline.reset(token)


class _CodeGenerator(CodeGenerator):
    """Sends `~` through the environment, so concatenation is measured like `+`, and a
    loop's iterable through `clocked`, so a loop that builds nothing is bounded in time."""

    def visit_For(self, node: For, frame: Frame) -> None:
        clock = EnvironmentAttribute("clocked", lineno=node.lineno)
        if not (isinstance(node.iter, Call) and node.iter.node == clock):
            node.iter = Call(clock, [node.iter], [], None, None, lineno=node.iter.lineno)
        super().visit_For(node, frame)

    def visit_Concat(self, node: Concat, frame: Frame) -> None:
        self.write("environment.tilde_concat(context, (")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


class WorkflowSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, with bounded work and opaque secrets (see the module)."""

    code_generator_class = _CodeGenerator
    intercepted_binops = frozenset({"**", "*", "+", "%"})

    def __init__(self) -> None:
        # optimized=False: the optimizer would compute constant expressions at compile time,
        # where no limit applies (`9**(9**8)` in a definition being validated).
        super().__init__(autoescape=False, undefined=StrictUndefined, optimized=False,
                         finalize=_finalize)
        self.filters = {name: _bounded_filter(name, function)
                        for name, function in self.filters.items()}
        # lipsum(n) writes n paragraphs: nothing a workflow needs, and unbounded.
        self.globals.pop("lipsum", None)

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if isinstance(obj, Secret | SecretSource):
            return False
        return super().is_safe_attribute(obj, attr, value)

    def getattr(self, obj: Any, attribute: str) -> Any:
        """A mapping's keys win over its methods: `input.items` is the key `items`."""
        if isinstance(obj, Secret):
            obj._refuse()
        if isinstance(obj, SecretSource):
            return self.getitem(obj, attribute)
        if isinstance(obj, Mapping):
            try:
                return obj[attribute]
            except (TypeError, LookupError):
                pass
        value = super().getattr(obj, attribute)
        if isinstance(obj, Named) and isinstance(value, Undefined):
            return self.undefined(_missing(obj._path, attribute), obj=obj, name=attribute)
        return value

    def getitem(self, obj: Any, argument: Any) -> Any:
        if isinstance(obj, Secret):
            obj._refuse()
        if isinstance(obj, SecretSource):
            try:
                return obj[argument]
            except (TypeError, LookupError):
                return self.undefined(f"there is no secret named {argument!r}", obj=obj,
                                      name=argument)
        if isinstance(obj, Named) and isinstance(argument, str) and argument not in obj:
            return self.undefined(_missing(obj._path, argument), obj=obj, name=argument)
        return super().getitem(obj, argument)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        _refuse_secrets(left, right)
        ints = all(isinstance(side, int) for side in (left, right))
        if operator == "**" and ints and right > 0 and abs(left) > 1:
            _check_int_bits(right * math.log2(abs(left)))
        elif operator == "*" and ints:
            _check_int_bits(left.bit_length() + right.bit_length())
        elif operator == "*":
            count = right if isinstance(right, int) else left if isinstance(left, int) else None
            sequence = left if count is right else right
            if count is not None and not isinstance(sequence, int | float):
                _check_sizes(size_of(sequence, max_output()) * max(count, 0),
                             "the repeated value")
        elif operator == "+" and not ints:
            _check_sizes(size_of(left, max_output()) + size_of(right, max_output()),
                         "the sum")
        elif operator == "%" and isinstance(left, str):
            _check_percent_format(left, right)
        return super().call_binop(context, operator, left, right)

    def concat(self, chunks: Iterable[str]) -> str:
        """Joins the output of a macro, a call or filter block and a block `{% set %}`."""
        text = "".join(chunks)
        _check_sizes(len(text), "the block's text")
        return text

    def tilde_concat(self, context: Context, values: tuple[Any, ...]) -> str:
        _refuse_secrets(*values)
        _check_sizes(sum(size_of(value, max_output()) for value in values),
                     "the concatenated text")
        join = markup_join if context.eval_ctx.autoescape else str_join
        return join(values)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        template = value.__self__

        def bounded(*args: Any, **kwargs: Any) -> str:
            _refuse_secrets(*args, *kwargs.values())
            _check_brace_format(template, args, kwargs)
            return wrapped(*args, **kwargs)

        return bounded

    def clocked(self, iterable: Any) -> Iterator[Any]:
        for item in iterable:
            _check_time()
            yield item

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        _check_time()
        _refuse_secrets(__obj, *args, *kwargs.values())
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str | bytes):
            _, args = _bounded_inputs(getattr(__obj, "__name__", ""), owner, args, kwargs,
                                      method=True)
        return _check_size(super().call(__context, __obj, *args, **kwargs))


@functools.cache
def sandbox_environment() -> WorkflowSandbox:
    """The one shared sandbox: no autoescape, undefined names fail, no extensions, no loader.

    The immutable sandbox refuses access to Python internals and calls that mutate lists
    and dicts, and there is no loader, so `{% include %}` and `{% import %}` cannot reach
    any file.
    """
    return WorkflowSandbox()


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


def _finished(value: Any, budget: list[int]) -> Any:
    """The native value of an expression as plain JSON-like data: refused when it is (or
    holds) an undefined name (a strict undefined only fails when used, and a lone
    `{{ input.missing }}` is not used), a secret outside a secret-bearing field, a number
    that is not finite, or more than the output limit (counted about as its JSON text)."""
    budget[0] -= 1
    if budget[0] < 0:
        raise _too_big("the value")
    if isinstance(value, Undefined):
        value._fail_with_undefined_error()
    if isinstance(value, Secret):
        if not _reveal.get():
            value._refuse()
        value = secret_text(value)
    if isinstance(value, SecretSource):
        raise SecretMisuse("secrets can only be used one at a time, as secrets.<name>")
    if isinstance(value, str):
        budget[0] -= len(value)
        if budget[0] < 0:
            raise _too_big("the value")
        return value
    if isinstance(value, Mapping):
        budget[0] -= sum(len(str(key)) + 1 for key in value)
        return {key: _finished(item, budget) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finished(item, budget) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        # JSON has no NaN or infinity: PostgreSQL would refuse the node's output.
        raise ValueError(f"the value {value} is not a finite number")
    budget[0] -= value.bit_length() // 3 + 1 if isinstance(value, int) else 4
    return value


def _render_text(text: str, scope: dict[str, Any], budget: list[int]) -> Any:
    env = sandbox_environment()
    expression = single_expression(text)
    if expression is not None:
        value = env.compile_expression(expression, undefined_to_none=False)(**scope)
        return _finished(value, budget)
    chunks: list[str] = []
    for chunk in env.from_string(text).generate(**scope):
        budget[0] -= len(chunk)
        if budget[0] < 0:
            raise _too_big("the rendered text")
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
        token = _reveal.set(reveal_secrets)
        try:
            with _time_bound():
                return _render_text(value, scope, budget)
        except _RENDER_ERRORS as exc:
            raise TemplateRenderError(f"{path or 'value'}: {exc}") from None
        finally:
            _reveal.reset(token)
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
        with _time_bound():
            value = sandbox_environment().compile_expression(
                source, undefined_to_none=False)(**scope)
            return _finished(value, render_budget() if budget is None else budget)
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
