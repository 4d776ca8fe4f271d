"""JSON Schemas written by users: workflow inputs, Validator nodes, UserAction forms.

They run inside web requests and node tasks, so two things a schema could do are taken
away from it. Its regular expressions (`pattern`, `patternProperties`) run on RE2, in
time linear in the text: Python's backtracking engine takes exponential time on patterns
such as `(a+)+$`. And it may refer only inside itself (`$ref: "#/$defs/..."`): a file or
network reference is refused when the schema is saved, and never retrieved.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

import re2
from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry
from referencing.exceptions import NoSuchResource, Unresolvable

from config.parsers import field_path
from workflows.caching import cached_in_process, process_cache

_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False
SCHEMA_PATTERNS_CACHE = "schema_patterns"
_PATTERNS = process_cache(SCHEMA_PATTERNS_CACHE, maxsize=2048)
_LITERAL_KEYWORDS = frozenset({"const", "enum", "default", "examples"})
_REFERENCE_KEYWORDS = ("$ref", "$dynamicRef")


class UserSchemaError(ValueError):
    """A user-written schema that cannot be used; `problems` are (field, message) pairs."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__(problems[0][1])
        self.problems = problems


def _regex(pattern: str) -> Any:
    """The compiled pattern, kept per process (counted as the `schema_patterns` cache)."""
    return cached_in_process(SCHEMA_PATTERNS_CACHE, _PATTERNS, pattern,
                             lambda: re2.compile(pattern, options=_RE2_OPTIONS))


def _search(pattern: str, text: str) -> bool:
    return _regex(pattern).search(text) is not None


@functools.cache
def _platform_regex(pattern: str) -> Any:
    """The platform's own patterns: a few dozen, fixed, so kept without counting (counting
    each use of the cache cost a 500-node definition's validation a fifth of its time)."""
    return re2.compile(pattern, options=_RE2_OPTIONS)


def _platform_search(pattern: str, text: str) -> bool:
    return _platform_regex(pattern).search(text) is not None


def _re2_validator(search: Callable[[str, str], bool], doc: str) -> Any:
    """Draft 2020-12 whose `pattern`, `patternProperties` and `additionalProperties` match
    with `search` (RE2)."""

    def pattern_(validator, pattern, instance, schema) -> Iterator[ValidationError]:
        if validator.is_type(instance, "string") and not search(pattern, instance):
            yield ValidationError(f"{instance!r} does not match {pattern!r}")

    def pattern_properties(validator, patterns, instance, schema) -> Iterator[ValidationError]:
        if not validator.is_type(instance, "object"):
            return
        for pattern, subschema in patterns.items():
            for key, value in instance.items():
                if search(pattern, key):
                    yield from validator.descend(value, subschema, path=key,
                                                 schema_path=pattern)

    def additional_properties(validator, additional, instance,
                              schema) -> Iterator[ValidationError]:
        if not validator.is_type(instance, "object"):
            return
        properties = schema.get("properties", {})
        patterns = schema.get("patternProperties", {})
        extras = sorted(
            key for key in instance
            if key not in properties and not any(search(pattern, key) for pattern in patterns)
        )
        if validator.is_type(additional, "object"):
            for extra in extras:
                yield from validator.descend(instance[extra], additional, path=extra)
        elif not additional and extras:
            listed = ", ".join(repr(extra) for extra in extras)
            if patterns:
                yield ValidationError(
                    f"{listed} {'does' if len(extras) == 1 else 'do'} not match any of the "
                    f"regexes: {', '.join(repr(pattern) for pattern in sorted(patterns))}")
            else:
                yield ValidationError(
                    f"Additional properties are not allowed ({listed} "
                    f"{'was' if len(extras) == 1 else 'were'} unexpected)")

    validator = validators.extend(
        Draft202012Validator,
        {"pattern": pattern_, "patternProperties": pattern_properties,
         "additionalProperties": additional_properties},
    )
    validator.__doc__ = doc
    return validator


_WHY = """Draft 2020-12 with its patterns run on RE2, in linear time and with JSON Schema's
(ECMA-262's) `$`: the end of the text. (Python's `re` also matches `$` before a final
newline, so `^[a-z]+$` took `"name\\n"`.)"""
UserSchemaValidator = _re2_validator(
    _search, f"{_WHY} For the users' schemas: patterns counted as the `schema_patterns` "
    "cache.")
SchemaValidator = _re2_validator(
    _platform_search, f"{_WHY} For the platform's own schemas (definitions, node data).")


def _no_retrieval(uri: str) -> Any:
    raise NoSuchResource(ref=uri)


_EMPTY_REGISTRY: Registry = Registry(retrieve=_no_retrieval)


def _walk(schema: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple, str, Any]]:
    """Every (path, keyword, value) of a schema's subschemas, literals left out."""
    stack: list[tuple[Any, tuple]] = [(schema, path)]
    while stack:
        node, at = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                yield at, key, value
                if key not in _LITERAL_KEYWORDS:
                    stack.append((value, (*at, key)))
        elif isinstance(node, list):
            stack.extend((item, (*at, index)) for index, item in enumerate(node))


def user_schema_problems(schema: Any, field: str) -> list[tuple[str, str]]:
    """What makes a user-written schema unusable: the Draft 2020-12 meta-schema, patterns
    RE2 cannot run, and references outside the schema."""
    meta = Draft202012Validator(Draft202012Validator.META_SCHEMA)
    problems = [
        (field_path(error.absolute_path, field),
         best_match(error.context).message if error.context else error.message)
        for error in meta.iter_errors(schema)
    ]
    if problems:
        return problems
    has_pattern_properties = has_unevaluated = False
    for at, key, value in _walk(schema):
        patterns: list[tuple[str, tuple]] = []
        if key == "pattern" and isinstance(value, str):
            patterns = [(value, (*at, key))]
        elif key == "patternProperties" and isinstance(value, dict):
            has_pattern_properties = True
            patterns = [(pattern, (*at, key, pattern)) for pattern in value]
        elif key == "unevaluatedProperties":
            has_unevaluated = True
        elif key in _REFERENCE_KEYWORDS and isinstance(value, str) and not value.startswith("#"):
            problems.append((
                field_path((*at, key), field),
                f"the reference {value[:200]!r} points outside the schema; only references "
                "inside it ('#/$defs/...') are allowed"))
        for pattern, where in patterns:
            try:
                _regex(pattern)
            except re2.error as exc:
                reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) \
                    else str(exc)
                problems.append((
                    field_path(where, field),
                    f"the pattern {pattern[:200]!r} is not supported ({reason}); patterns "
                    "run on RE2: no lookaround or backreferences"))
    if has_pattern_properties and has_unevaluated:
        problems.append((field, "unevaluatedProperties cannot be combined with "
                                "patternProperties in one schema"))
    return problems


def user_schema_errors(schema: Any, instance: Any, *, field: str = "schema"
                       ) -> list[ValidationError]:
    """The errors of `instance` against a user-written schema, found in linear time.

    Raises `UserSchemaError` for a schema that `user_schema_problems` refuses (one saved
    before those checks) or whose local references do not resolve.
    """
    problems = user_schema_problems(schema, field)
    if problems:
        raise UserSchemaError(problems)
    validator = UserSchemaValidator(schema, registry=_EMPTY_REGISTRY)
    try:
        return list(validator.iter_errors(instance))
    except Unresolvable as exc:
        raise UserSchemaError([(field, f"the reference {exc.ref!r} does not resolve")]) \
            from None
    except RecursionError:
        raise UserSchemaError([(field, "the schema refers to itself without end")]) from None
