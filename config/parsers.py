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
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class JsonLimitError(ValueError):
    """A document that is not JSON or breaks a limit; `line` and `column` when known, and
    `path` (`input.items[2].name`, empty for the document itself) when a value breaks it."""

    def __init__(self, message: str, *, line: int | None = None,
                 column: int | None = None, path: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
        self.path = path


PATH_SHOWN_MAX = 200  # characters of a path a message names; a deep one is cut in the middle


class _Refused:
    """A value `json.loads` read that breaks a limit: left in its place by the parsing hooks,
    so that the walk over the document names where it is."""

    __slots__ = ("problem", "subject")

    def __init__(self, subject: str, problem: str) -> None:
        self.subject = subject
        self.problem = problem


def field_path(parts: Iterable[str | int], prefix: str = "") -> str:
    """A path into a document as `a.b[0].c`, as every error names a field; `prefix` is the
    path it continues."""
    path = prefix
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path = f"{path}.{part}" if path else str(part)
    return path


def _limit_error(subject: str, problem: str, trail: tuple | None, *,
                 preposition: str = "at") -> JsonLimitError:
    """`{subject} at '{path}' {problem}`, with the path of the value in `trail` (a chain of
    (parent trail, key or index) pairs), cut to `PATH_SHOWN_MAX` characters."""
    keys: list[Any] = []
    while trail is not None:
        trail, key = trail
        keys.append(key)
    path = field_path(reversed(keys))
    shown = path if len(path) <= PATH_SHOWN_MAX else \
        f"{path[:PATH_SHOWN_MAX // 2]}...{path[-PATH_SHOWN_MAX // 2:]}"
    where = f" {preposition} '{shown}'" if path else ""
    return JsonLimitError(f"{subject}{where} {problem}", path=shown)


def _too_deep(trail: tuple | None = None) -> JsonLimitError:
    return _limit_error("The document" if trail is None else "A value",
                        f"is nested deeper than {settings.JSON_MAX_DEPTH} levels.", trail)


def _integer(text: str) -> int | _Refused:
    digits = len(text.lstrip("-"))
    if digits > settings.JSON_MAX_INTEGER_DIGITS:
        return _Refused("An integer", f"has {digits} digits; at most "
                        f"{settings.JSON_MAX_INTEGER_DIGITS} are allowed.")
    return int(text)


def _float(text: str) -> float | _Refused:
    value = float(text)
    if not math.isfinite(value):
        return _Refused(f"The number {text[:40]}", "is too large: numbers must be finite.")
    return value


def _constant(name: str) -> _Refused:
    return _Refused(name, "is not allowed: numbers must be finite.")


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _text_check(text: str, subject: str, trail: tuple | None, *,
                preposition: str = "at") -> None:
    found = _UNSTORABLE.search(text)
    if found is None:
        return
    character = found.group()
    what = "a NUL character (\\u0000)" if character == "\x00" else \
        f"an unpaired surrogate (\\u{ord(character):04x})"
    raise _limit_error(subject, f"holds {what}, which cannot be stored.", trail,
                       preposition=preposition)


def json_value_check(value: Any) -> None:
    """Raise `JsonLimitError`, naming where, unless `value` keeps the depth, finiteness and
    digit limits and holds only texts that can be stored."""
    _walk(value, max_depth=settings.JSON_MAX_DEPTH,
          max_digits=settings.JSON_MAX_INTEGER_DIGITS)


def json_storable_check(value: Any) -> None:
    """Raise `JsonLimitError`, naming where, unless the database can store `value` as JSON:
    finite numbers and texts without NUL or unpaired surrogates (what the platform computes
    itself, such as a node's output, is not held to the request limits of depth and
    digits)."""
    _walk(value, max_depth=None, max_digits=None)


_WALKED = dict | list | float | int | str | _Refused


def _walk(value: Any, *, max_depth: int | None, max_digits: int | None) -> None:
    """Depth first in the document's order, so the first value that breaks a limit is the
    one named."""
    integer_bound = 10**max_digits if max_digits is not None else None
    stack: list[tuple[Any, int, tuple | None]] = [(value, 1, None)]
    while stack:
        item, depth, trail = stack.pop()
        if isinstance(item, dict):
            if max_depth is not None and depth > max_depth:
                raise _too_deep(trail)
            for key in item:
                _text_check(str(key), "A key", trail, preposition="in")
            # YAML's keys may be numbers: a path names them as text
            stack.extend((child, depth + 1, (trail, str(key)))
                         for key, child in reversed(item.items()) if isinstance(child, _WALKED))
        elif isinstance(item, list):
            if max_depth is not None and depth > max_depth:
                raise _too_deep(trail)
            stack.extend((item[index], depth + 1, (trail, index))
                         for index in range(len(item) - 1, -1, -1)
                         if isinstance(item[index], _WALKED))
        elif isinstance(item, str):
            _text_check(item, "A text", trail)
        elif isinstance(item, _Refused):
            raise _limit_error(item.subject, item.problem, trail)
        elif isinstance(item, float) and not math.isfinite(item):
            raise _limit_error(str(item), "is not allowed: numbers must be finite.", trail)
        elif integer_bound is not None and isinstance(item, int) and abs(item) >= integer_bound:
            raise _limit_error("An integer", f"has more than {max_digits} digits; at most "
                               f"{max_digits} are allowed.", trail)


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


class BodyParseError(ParseError):
    """A body that is not JSON or breaks a limit: a `parse_error` 400 whose
    `details.fields` names the value that breaks it, when one does."""

    def __init__(self, error: JsonLimitError) -> None:
        super().__init__(error.message)
        self.fields = {error.path: [error.message]} if error.path else {}


def whole_text(pattern: str) -> re.Pattern[str]:
    """`pattern`, written `^...$` as JSON Schema writes it, compiled for Python's `re` so
    that it matches the whole text only: Python's `$` also matches before a final newline
    (`^[a-z]+$` takes `"name\\n"`), `\\Z` does not."""
    return re.compile(pattern.removesuffix("$") + r"\Z")


def whole_number(text: str | bytes, *, maximum: int) -> int | None:
    """`text` as a whole number when it is written in ASCII digits, else None; any number
    above `maximum` is `maximum + 1`, so a caller compares without converting thousands of
    digits. (`str.isdigit` is true for digits `int` refuses, such as `²`, and `int` refuses
    texts of more than 4,300 digits: both were server errors where a client chose the
    text.)"""
    if isinstance(text, bytes):
        text = text.decode("latin-1")
    if not (text.isascii() and text.isdigit()):
        return None
    digits = text.lstrip("0") or "0"
    if len(digits) > len(str(maximum)):
        return maximum + 1
    return min(int(digits), maximum + 1)


class LimitedJSONParser(JSONParser):
    """DRF's JSON parser on `json_loads`: a body over a limit is a 400 naming it."""

    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        raw = stream.read() if stream is not None else b""
        try:
            return json_loads(raw)
        except JsonLimitError as exc:
            raise BodyParseError(exc) from None
