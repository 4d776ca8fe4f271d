"""The one JSON reader of every request body, with the limits the platform keeps.

Python's `json` recurses once per nesting level (a deep document raises `RecursionError`),
turns `1e400` into infinity, accepts `NaN`, and parses integers of any length up to
the interpreter's own digit limit (beyond it a bare `ValueError`). A body read here
either becomes JSON values within `settings.JSON_MAX_DEPTH` levels, finite numbers and
integers of at most `settings.JSON_MAX_INTEGER_DIGITS` digits, and texts PostgreSQL can
store (JSON may escape a NUL, `\\u0000`, or half of a surrogate pair, `\\ud800`; `jsonb`
and `text` hold neither), or a `JsonLimitError` naming the problem. `json_value_check`
applies the same limits to values loaded otherwise (YAML).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class JsonLimitError(ValueError):
    """A document that is not JSON or breaks a limit; `line` and `column` when known."""

    def __init__(self, message: str, *, line: int | None = None,
                 column: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


def _too_deep() -> JsonLimitError:
    return JsonLimitError(
        f"The document is nested deeper than {settings.JSON_MAX_DEPTH} levels.")


def _integer(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > settings.JSON_MAX_INTEGER_DIGITS:
        raise JsonLimitError(
            f"An integer has {digits} digits; at most {settings.JSON_MAX_INTEGER_DIGITS} "
            "are allowed.")
    return int(text)


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JsonLimitError(f"The number {text[:40]} is too large: numbers must be finite.")
    return value


def _constant(name: str) -> Any:
    raise JsonLimitError(f"{name} is not allowed: numbers must be finite.")


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _text_check(text: str) -> None:
    found = _UNSTORABLE.search(text)
    if found is None:
        return
    character = found.group()
    what = "a NUL character (\\u0000)" if character == "\x00" else \
        f"an unpaired surrogate (\\u{ord(character):04x})"
    raise JsonLimitError(f"A text holds {what}, which cannot be stored.")


def json_value_check(value: Any) -> None:
    """Raise `JsonLimitError` unless `value` keeps the depth, finiteness and digit limits
    and holds only texts that can be stored."""
    _walk(value, max_depth=settings.JSON_MAX_DEPTH,
          max_digits=settings.JSON_MAX_INTEGER_DIGITS)


def json_storable_check(value: Any) -> None:
    """Raise `JsonLimitError` unless the database can store `value` as JSON: finite numbers
    and texts without NUL or unpaired surrogates (what the platform computes itself, such
    as a node's output, is not held to the request limits of depth and digits)."""
    _walk(value, max_depth=None, max_digits=None)


def _walk(value: Any, *, max_depth: int | None, max_digits: int | None) -> None:
    integer_bound = 10**max_digits if max_digits is not None else None
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if max_depth is not None and depth > max_depth:
                raise _too_deep()
            if isinstance(item, dict):
                for key in item:
                    _text_check(str(key))
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children
                         if isinstance(child, dict | list | float | int | str))
        elif isinstance(item, str):
            _text_check(item)
        elif isinstance(item, float) and not math.isfinite(item):
            raise JsonLimitError(f"{item} is not allowed: numbers must be finite.")
        elif integer_bound is not None and isinstance(item, int) and abs(item) >= integer_bound:
            raise JsonLimitError(
                f"An integer has more than {max_digits} digits; at most {max_digits} "
                "are allowed.")


def json_loads(text: str | bytes, **hooks: Any) -> Any:
    """Parse JSON within the limits; `hooks` go to `json.loads` (`object_pairs_hook`)."""
    try:
        value = json.loads(text, parse_int=_integer, parse_float=_float,
                           parse_constant=_constant, **hooks)
    except RecursionError:
        raise _too_deep() from None
    except json.JSONDecodeError as exc:
        raise JsonLimitError(
            f"Invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}.",
            line=exc.lineno, column=exc.colno) from None
    except UnicodeDecodeError as exc:
        raise JsonLimitError(f"The body is not UTF-8: byte {exc.start} cannot be decoded.") \
            from None
    json_value_check(value)
    return value


class LimitedJSONParser(JSONParser):
    """DRF's JSON parser on `json_loads`: a body over a limit is a 400 naming it."""

    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        raw = stream.read() if stream is not None else b""
        try:
            return json_loads(raw)
        except JsonLimitError as exc:
            raise ParseError(exc.message) from None
