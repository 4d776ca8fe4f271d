"""The Jinja2 environment every template and expression runs in (see the package)."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from jinja2 import StrictUndefined, Undefined, pass_context
from jinja2.compiler import CodeGenerator, Frame
from jinja2.nodes import Call, Concat, EnvironmentAttribute, For
from jinja2.runtime import Context, markup_join, str_join
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import _PassArg

from workflows.templating.limits import (
    bounded_inputs,
    check_brace_format,
    check_int_bits,
    check_percent_format,
    check_size,
    check_sizes,
    check_time,
    max_output,
    refuse_secrets,
    size_of,
    too_big,
)
from workflows.templating.values import (
    Named,
    Secret,
    SecretMisuse,
    SecretSource,
    missing_message,
    reveal,
    secret_text,
)


def _bounded_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """A filter that refuses secrets and values over the limit. Taking the context also
    keeps the compiler from running the filter on constants while it compiles."""
    passes = _PassArg.from_obj(function)

    @pass_context
    @functools.wraps(function)
    def bounded(context: Context, value: Any, *args: Any, **kwargs: Any) -> Any:
        refuse_secrets(value, *args, *kwargs.values())
        value, args = bounded_inputs(name, value, args, kwargs, method=False)
        if passes is _PassArg.context:
            result = function(context, value, *args, **kwargs)
        elif passes is _PassArg.eval_context:
            result = function(context.eval_ctx, value, *args, **kwargs)
        elif passes is _PassArg.environment:
            result = function(context.environment, value, *args, **kwargs)
        else:
            result = function(value, *args, **kwargs)
        return check_size(result, f"the result of the filter '{name}'")

    return bounded


@pass_context
def _finalize(context: Context, value: Any) -> Any:
    """Each `{{ }}` of a text: a secret becomes its value only in a secret-bearing field.

    Taking the context also keeps the compiler from computing constant outputs while it
    compiles."""
    if isinstance(value, Secret):
        if not reveal.get():
            value._refuse()
        return secret_text(value)
    if isinstance(value, SecretSource):
        raise SecretMisuse("secrets can only be used one at a time, as secrets.<name>")
    check_size(value, "the value")
    if isinstance(value, Mapping | list | tuple):
        finished(value, [max_output()])  # a secret inside a list or object is refused too
    return value


def finished(value: Any, budget: list[int]) -> Any:
    """The native value of an expression as plain JSON-like data: refused when it is (or
    holds) an undefined name (a strict undefined only fails when used, and a lone
    `{{ input.missing }}` is not used), a secret outside a secret-bearing field, a number
    that is not finite, or more than the output limit (counted about as its JSON text)."""
    budget[0] -= 1
    if budget[0] < 0:
        raise too_big("the value")
    if isinstance(value, Undefined):
        value._fail_with_undefined_error()
    if isinstance(value, Secret):
        if not reveal.get():
            value._refuse()
        value = secret_text(value)
    if isinstance(value, SecretSource):
        raise SecretMisuse("secrets can only be used one at a time, as secrets.<name>")
    if isinstance(value, str):
        budget[0] -= len(value)
        if budget[0] < 0:
            raise too_big("the value")
        return value
    if isinstance(value, Mapping):
        budget[0] -= sum(len(str(key)) + 1 for key in value)
        return {key: finished(item, budget) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [finished(item, budget) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        # JSON has no NaN or infinity: PostgreSQL would refuse the node's output.
        raise ValueError(f"the value {value} is not a finite number")
    budget[0] -= value.bit_length() // 3 + 1 if isinstance(value, int) else 4
    return value


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
            return self.undefined(missing_message(obj._path, attribute), obj=obj, name=attribute)
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
            return self.undefined(missing_message(obj._path, argument), obj=obj, name=argument)
        return super().getitem(obj, argument)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        refuse_secrets(left, right)
        ints = all(isinstance(side, int) for side in (left, right))
        if operator == "**" and ints and right > 0 and abs(left) > 1:
            check_int_bits(right * math.log2(abs(left)))
        elif operator == "*" and ints:
            check_int_bits(left.bit_length() + right.bit_length())
        elif operator == "*":
            count = right if isinstance(right, int) else left if isinstance(left, int) else None
            sequence = left if count is right else right
            if count is not None and not isinstance(sequence, int | float):
                check_sizes(size_of(sequence, max_output()) * max(count, 0),
                             "the repeated value")
        elif operator == "+" and not ints:
            check_sizes(size_of(left, max_output()) + size_of(right, max_output()),
                         "the sum")
        elif operator == "%" and isinstance(left, str):
            check_percent_format(left, right)
        return super().call_binop(context, operator, left, right)

    def concat(self, chunks: Iterable[str]) -> str:
        """Joins the output of a macro, a call or filter block and a block `{% set %}`."""
        text = "".join(chunks)
        check_sizes(len(text), "the block's text")
        return text

    def tilde_concat(self, context: Context, values: tuple[Any, ...]) -> str:
        refuse_secrets(*values)
        check_sizes(sum(size_of(value, max_output()) for value in values),
                     "the concatenated text")
        join = markup_join if context.eval_ctx.autoescape else str_join
        return join(values)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        template = value.__self__

        def bounded(*args: Any, **kwargs: Any) -> str:
            refuse_secrets(*args, *kwargs.values())
            check_brace_format(template, args, kwargs)
            return wrapped(*args, **kwargs)

        return bounded

    def clocked(self, iterable: Any) -> Iterator[Any]:
        for item in iterable:
            check_time()
            yield item

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        check_time()
        refuse_secrets(__obj, *args, *kwargs.values())
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str | bytes):
            _, args = bounded_inputs(getattr(__obj, "__name__", ""), owner, args, kwargs,
                                      method=True)
        return check_size(super().call(__context, __obj, *args, **kwargs))


@functools.cache
def sandbox_environment() -> WorkflowSandbox:
    """The one shared sandbox: no autoescape, undefined names fail, no extensions, no loader.

    The immutable sandbox refuses access to Python internals and calls that mutate lists
    and dicts, and there is no loader, so `{% include %}` and `{% import %}` cannot reach
    any file.
    """
    return WorkflowSandbox()
