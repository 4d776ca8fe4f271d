"""Reading and writing definitions as JSON or YAML.

A loaded definition holds JSON values only, whatever the format: YAML dates stay strings,
tags that build other Python types (`!!binary`, `!!set`, `!!timestamp`...) are refused,
and so are duplicate keys, non-string keys and non-finite numbers. YAML anchors and
aliases are allowed, but a document whose aliases expand to more than
`MAX_ALIAS_EXPANSION` extra nodes (an "alias bomb") or refer to themselves is refused.
"""

from __future__ import annotations

import json
import math
from typing import Any

import yaml
from django.conf import settings
from yaml.composer import Composer
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, SequenceNode
from yaml.resolver import Resolver

from config.parsers import JsonLimitError, json_loads, json_value_check
from workflows.definitions.problems import DefinitionErrorCode, Problem

if yaml.__with_libyaml__:
    from yaml._yaml import CParser

    class _DocumentReader(Composer, CParser):
        """libyaml scans and parses; PyYAML's composer builds the nodes, since libyaml's
        own composer recurses in C and a deeply nested document overflows its stack."""

        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            Composer.__init__(self)
else:  # PyYAML built without libyaml
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _DocumentReader(Reader, Scanner, Parser, Composer):  # type: ignore[no-redef]
        def __init__(self, stream: str) -> None:
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            Parser.__init__(self)
            Composer.__init__(self)

FORMATS = ("json", "yaml")
MAX_ALIAS_EXPANSION = 100_000

_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_NON_JSON_TAGS = (
    _TIMESTAMP_TAG,
    "tag:yaml.org,2002:binary",
    "tag:yaml.org,2002:set",
    "tag:yaml.org,2002:omap",
    "tag:yaml.org,2002:pairs",
)


class DefinitionSyntaxError(ValueError):
    """A document that is not a definition's JSON or YAML; `problem` says where and why."""

    def __init__(
        self, message: str, *, line: int | None = None, column: int | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message)
        details = {"line": line, "column": column}
        self.problem = Problem(
            code=DefinitionErrorCode.SYNTAX_ERROR,
            message=message,
            field=field or None,  # the value over a limit, when one is
            details={key: value for key, value in details.items() if value is not None},
        )


def _expanded_size(root: Node) -> tuple[int, int]:
    """The node count of a composed YAML document with aliases expanded, and without.

    Iterative, with a node's size computed once however often it is aliased, so a bomb
    is measured without being expanded. A node reached again while its own children are
    still being counted is a recursive alias.
    """
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, children_counted = stack.pop()
        children = _children(node)
        if children_counted:
            sizes[id(node)] = 1 + sum(sizes[id(child)] for child in children)
            open_nodes.discard(id(node))
            continue
        if id(node) in sizes:
            continue
        if id(node) in open_nodes:
            raise ConstructorError(None, None, "an alias refers to its own anchor", node.start_mark)
        open_nodes.add(id(node))
        stack.append((node, True))
        stack.extend((child, False) for child in children if id(child) not in sizes)
    return sizes[id(root)], len(sizes)


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [item for pair in node.value for item in pair]
    return []


class DefinitionLoader(_DocumentReader, SafeConstructor, Resolver):
    """A safe loader that builds JSON values only and refuses alias bombs."""

    yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP_TAG]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def __init__(self, stream: str) -> None:
        _DocumentReader.__init__(self, stream)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)

    def compose_document(self) -> Node:
        node = super().compose_document()
        expanded, unique = _expanded_size(node)
        if expanded - unique > MAX_ALIAS_EXPANSION:
            raise ConstructorError(
                None, None,
                f"aliases expand the document by {expanded - unique} nodes; "
                f"at most {MAX_ALIAS_EXPANSION} are allowed",
                node.start_mark,
            )
        return node

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[str] = set()
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG:
                continue
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, str):
                raise ConstructorError(
                    None, None, f"a mapping key must be a string, not {key!r}",
                    key_node.start_mark,
                )
            if key in seen:
                raise ConstructorError(None, None, f"duplicate key '{key}'", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)

    def construct_finite_float(self, node: Node) -> float:
        value = self.construct_yaml_float(node)
        if not math.isfinite(value):
            raise ConstructorError(
                None, None, f"{node.value!r} is not a finite number", node.start_mark
            )
        return value

    def construct_non_json(self, node: Node) -> None:
        raise ConstructorError(
            None, None, f"the tag {node.tag} is not allowed: a definition holds JSON values",
            node.start_mark,
        )


DefinitionLoader.add_constructor("tag:yaml.org,2002:float", DefinitionLoader.construct_finite_float)
for _tag in _NON_JSON_TAGS:
    DefinitionLoader.add_constructor(_tag, DefinitionLoader.construct_non_json)


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise DefinitionSyntaxError(f"Duplicate key '{key}'.")
        result[key] = value
    return result


def _load_json(text: str) -> Any:
    try:
        return json_loads(text, object_pairs_hook=_unique_pairs)
    except JsonLimitError as exc:
        raise DefinitionSyntaxError(exc.message, line=exc.line, column=exc.column,
                                    field=exc.path) from None


def _load_yaml(text: str) -> Any:
    size = len(text.encode())
    if size > settings.MAX_YAML_BYTES:
        raise DefinitionSyntaxError(
            f"The YAML document is {size} bytes; at most {settings.MAX_YAML_BYTES} are "
            "accepted (JSON may be larger).")
    loader = DefinitionLoader(text)
    try:
        document = loader.get_single_data()
        json_value_check(document)
        return document
    except JsonLimitError as exc:
        raise DefinitionSyntaxError(exc.message, field=exc.path) from None
    except ValueError as exc:  # an integer over Python's own digit limit
        raise DefinitionSyntaxError(f"Invalid YAML: {exc}.") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        reason = exc.problem or exc.context or "invalid YAML"
        if mark is None:
            raise DefinitionSyntaxError(f"Invalid YAML: {reason}.") from None
        raise DefinitionSyntaxError(
            f"Invalid YAML at line {mark.line + 1}, column {mark.column + 1}: {reason}.",
            line=mark.line + 1, column=mark.column + 1,
        ) from None
    except yaml.YAMLError as exc:
        raise DefinitionSyntaxError(f"Invalid YAML: {exc}.") from None
    finally:
        loader.dispose()


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise DefinitionSyntaxError(
            f"The document is not UTF-8: byte {exc.start} cannot be decoded.",
            line=line, column=column,
        ) from None


def definition_load(text: str | bytes, *, fmt: str | None = None) -> dict[str, Any]:
    """Parse a definition from JSON or YAML; `fmt=None` tries JSON first, then YAML.

    Raises `DefinitionSyntaxError` for bad syntax (with a 1-based line and column when the
    parser knows them), bytes that are not UTF-8, or a top level that is not a mapping.
    """
    if fmt is not None and fmt not in FORMATS:
        raise ValueError(f"Unknown format {fmt!r}; use one of {FORMATS}.")
    source = _decode(text) if isinstance(text, bytes) else text.removeprefix("\ufeff")
    try:
        if fmt == "json":
            document = _load_json(source)
        elif fmt == "yaml":
            document = _load_yaml(source)
        else:
            try:
                document = json_loads(source, object_pairs_hook=_unique_pairs)
            except JsonLimitError as exc:
                if exc.line is None:  # JSON over a limit, not another format
                    raise DefinitionSyntaxError(exc.message, field=exc.path) from None
                document = _load_yaml(source)
    except RecursionError:
        raise DefinitionSyntaxError(
            f"The document is nested deeper than {settings.JSON_MAX_DEPTH} levels.") from None
    if not isinstance(document, dict):
        kind = "an empty document" if document is None else f"a {type(document).__name__}"
        raise DefinitionSyntaxError(
            f"The top level of a definition must be a mapping, not {kind}.", line=1, column=1
        )
    return document


def definition_dump(definition: dict[str, Any], *, fmt: str) -> str:
    """Write a definition as YAML (block style, key order kept) or JSON (indented by 2)."""
    if fmt == "yaml":
        return yaml.safe_dump(
            definition, sort_keys=False, allow_unicode=True, default_flow_style=False
        )
    if fmt == "json":
        return json.dumps(definition, indent=2, ensure_ascii=False) + "\n"
    raise ValueError(f"Unknown format {fmt!r}; use one of {FORMATS}.")
