"""How much work a template may do: the size of every value it builds and the time it runs.

Each check runs before the operation it guards builds its value, so a refusal costs about
as much as the limit, never as much as the operation would have.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import re
import time
from collections.abc import Iterator, Mapping
from string import Formatter
from typing import Any

from django.conf import settings
from jinja2.exceptions import SecurityError

from workflows.templating.values import Secret, TemplateLimitError


def max_output() -> int:
    return settings.WORKFLOW_TEMPLATE_MAX_OUTPUT


def _max_int_bits() -> int:
    return int(settings.WORKFLOW_TEMPLATE_MAX_INT_DIGITS * math.log2(10)) + 1


def too_big(what: str) -> TemplateLimitError:
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


def refuse_secrets(*values: Any) -> None:
    for value in values:
        if isinstance(value, Secret):
            value._refuse()


def check_int_bits(bits: float) -> None:
    if bits > _max_int_bits():
        raise _too_long_number()


def check_size(value: Any, what: str = "the result") -> Any:
    if size_of(value, max_output()) > max_output():
        raise too_big(what)
    return value


def check_sizes(total: int, what: str) -> None:
    if total > max_output():
        raise too_big(what)


_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?[a-zA-Z%]")
_FORMAT_NUMBERS = re.compile(r"\d+")


def check_percent_format(template: str, args: Any) -> None:
    """`template % args` stays within the limit: widths are bounded, and each field holds at
    most the whole of `args`."""
    specs = _PERCENT_SPEC.findall(template)
    widths = 0
    for width, precision in specs:
        if "*" in (width, precision):
            raise SecurityError("'*' widths are not supported in templates")
        widths += int(width or 0) + int(precision or 0)
        check_sizes(widths, "the formatted text")
    check_sizes(len(template) + widths + len(specs) * size_of(args, max_output()),
                 "the formatted text")


def check_brace_format(template: str, args: Any, kwargs: Any) -> None:
    """`template.format(...)` stays within the limit, as `check_percent_format`."""
    fields = widths = 0
    for _, field, spec, _ in Formatter().parse(template):
        if field is None:
            continue
        if spec and "{" in spec:
            raise SecurityError("nested format fields are not supported in templates")
        fields += 1
        widths += sum(int(number) for number in _FORMAT_NUMBERS.findall(spec or ""))
        check_sizes(widths, "the formatted text")
    check_sizes(len(template) + widths + fields * size_of((args, kwargs), max_output()),
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
            raise too_big(f"an argument of {value}")


def bounded_inputs(name: str, value: Any, args: tuple, kwargs: dict,
                    *, method: bool) -> tuple[Any, tuple]:
    """Refuse, before it runs, a filter or string method whose result would be over the
    limit: a width of 10**9, a join or replacement that multiplies its input, the text of
    a value that is itself too big. Returns the value and arguments to call it with (an
    iterator to join is read into a list first, to be measured)."""
    budget = max_output()
    if name in _SIZE_ARGUMENTS:
        _check_arguments(args, kwargs)
    if name in _TEXT_OF_INPUT:
        check_size(value, "the input")
    if name == "join":
        if method:
            items = args[0] if args else []
            items = items if isinstance(items, list | tuple | str) else list(items)
            separator, args = value, (items, *args[1:])
        else:
            value = items = value if isinstance(value, list | tuple | str) else list(value)
            separator = args[0] if args else kwargs.get("d", "")
        check_sizes(len(items) * size_of(separator, budget) + size_of(items, budget),
                     "the joined text")
    elif name == "replace" and isinstance(value, str) and len(args) >= 2:
        old, new = str(args[0]), str(args[1])
        count = value.count(old) if old else len(value) + 1
        check_sizes(len(value) + count * len(new), "the replaced text")
    elif name == "indent" and isinstance(value, str):
        width = args[0] if args else kwargs.get("width", 4)
        width = len(width) if isinstance(width, str) else int(width)
        check_sizes(len(value) + (value.count("\n") + 1) * width, "the indented text")
    elif name == "expandtabs" and isinstance(value, str):
        check_sizes(len(value) + value.count("\t") * int(args[0] if args else 8),
                     "the expanded text")
    elif name == "translate" and isinstance(value, str) and args and isinstance(args[0], Mapping):
        widest = max((size_of(item, budget) for item in args[0].values()), default=1)
        check_sizes(len(value) * max(widest, 1), "the translated text")
    elif name == "tojson":
        indent = kwargs.get("indent", args[0] if args else None) or 0
        check_sizes(size_of(value, budget) * (int(indent) + 1), "the JSON text")
    elif name == "format" and isinstance(value, str):
        check_percent_format(value, kwargs or args)
    return value, args


_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "template_deadline", default=None)


def check_time() -> None:
    deadline = _deadline.get()
    if deadline is not None and time.monotonic() > deadline:
        raise TemplateLimitError(
            f"the template ran longer than {settings.WORKFLOW_TEMPLATE_MAX_SECONDS} s "
            "(WORKFLOW_TEMPLATE_MAX_SECONDS)")


@contextlib.contextmanager
def time_bound() -> Iterator[None]:
    """The outermost render or evaluation sets the deadline; nested ones keep it."""
    if _deadline.get() is not None:
        yield
        return
    token = _deadline.set(time.monotonic() + settings.WORKFLOW_TEMPLATE_MAX_SECONDS)
    try:
        yield
    finally:
        _deadline.reset(token)
