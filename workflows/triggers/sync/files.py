"""Reading workflow and schedule files: discovery, overlays, YAML, and the line of a problem."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from workflows.definitions import DefinitionSyntaxError, Problem, definition_load, edge_label
from workflows.definitions.parsing import DefinitionLoader
from workflows.triggers.sync.report import SyncError

EXTENSIONS = (".yml", ".yaml")
_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


# --- Overlays -------------------------------------------------------------------------------


def _merge_nodes(base: list[Any], overlay: list[Any], path: tuple) -> list[Any]:
    """Nodes merge by id: an overlay node's keys merge into the base node; new ids append."""
    result = copy.deepcopy(base)
    index = {node.get("id"): position for position, node in enumerate(result)
             if isinstance(node, dict)}
    for node in overlay:
        node_id = node.get("id") if isinstance(node, dict) else None
        if node_id is not None and node_id in index:
            result[index[node_id]] = deep_merge(result[index[node_id]], node, path)
        else:
            result.append(copy.deepcopy(node))
    return result


def deep_merge(base: Any, overlay: Any, path: tuple = ()) -> Any:
    """`overlay` merged into `base`: mappings recursively (a null value removes the key),
    `nodes` lists by node id, anything else replaced by the overlay's value."""
    if isinstance(base, dict) and isinstance(overlay, dict):
        result = copy.deepcopy(base)
        for key, value in overlay.items():
            if value is None:
                result.pop(key, None)
            elif key in result:
                result[key] = deep_merge(result[key], value, (*path, key))
            else:
                result[key] = copy.deepcopy(value)
        return result
    if path and path[-1] == "nodes" and isinstance(base, list) and isinstance(overlay, list):
        return _merge_nodes(base, overlay, path)
    return copy.deepcopy(overlay)


# --- Locating problems in the files -----------------------------------------------------------


class _Marks:
    """The composed YAML of a file, to find the line of a key or a list item."""

    def __init__(self, text: str) -> None:
        try:
            self.root = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError:
            self.root = None

    def locate(self, parts: list[Any]) -> tuple[int, int | None, int | None]:
        """How many parts were found, and the line and column of the deepest one.

        A part is a mapping key, a list index, or ("id", value) for the item of a `nodes`
        list with that id (overlays merge nodes by id, so indexes differ between files).
        """
        node = self.root
        if node is None:
            return 0, None, None
        depth, mark = 0, node.start_mark
        for part in parts:
            found = None
            if isinstance(node, yaml.MappingNode) and isinstance(part, str):
                for key, value in node.value:
                    if isinstance(key, yaml.ScalarNode) and key.value == part:
                        found, mark = value, key.start_mark
                        break
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, tuple):
                for item in node.value:
                    if isinstance(item, yaml.MappingNode) and any(
                        isinstance(k, yaml.ScalarNode) and k.value == "id"
                        and isinstance(v, yaml.ScalarNode) and v.value == str(part[1])
                        for k, v in item.value
                    ):
                        found, mark = item, item.start_mark
                        break
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) \
                    and part < len(node.value):
                found = node.value[part]
                mark = found.start_mark
            if found is None:
                break
            node, depth = found, depth + 1
        return depth, mark.line + 1, mark.column + 1


def field_parts(field: str) -> list[Any]:
    return [key if key else int(index) for key, index in _PATH_PART.findall(field)]


def by_node_id(parts: list[Any], document: Any) -> list[Any]:
    """The parts with each index into a `nodes` list replaced by ("id", the node's id)."""
    result: list[Any] = []
    value, previous = document, None
    for part in parts:
        if isinstance(part, int) and previous == "nodes" and isinstance(value, list) \
                and part < len(value) and isinstance(value[part], dict) \
                and isinstance(value[part].get("id"), str):
            result.append(("id", value[part]["id"]))
        else:
            result.append(part)
        try:
            value = value[part]
        except (KeyError, IndexError, TypeError):
            value = None
        previous = part
    return result


def problem_parts(problem: Problem, document: dict[str, Any]) -> list[Any]:
    if problem.field:
        return field_parts(problem.field)
    if problem.node:
        parts: list[Any] = []
        for node_id in problem.node.split("/"):
            parts += (["data", "body"] if parts else []) + ["nodes", ("id", node_id)]
        return parts
    if problem.edge:
        for index, edge in enumerate(document.get("edges") or []):
            if isinstance(edge, dict) and edge_label(edge) == problem.edge:
                return ["edges", index]
    return []


@dataclass
class Source:
    """A file read from disk: its path, text and composed YAML."""

    path: Path
    text: str

    def __post_init__(self) -> None:
        self.marks = _Marks(self.text)


def locate(parts: list[Any], sources: list[Source]) -> tuple[Path, int | None, int | None]:
    """The file (overlay first: it wins the merge) and line where the parts lead furthest."""
    best: tuple[int, Path, int | None, int | None] | None = None
    for source in sources:
        depth, line, column = source.marks.locate(parts)
        if best is None or depth > best[0]:
            best = (depth, source.path, line, column)
    assert best is not None
    return best[1], best[2], best[3]


# --- Files ----------------------------------------------------------------------------------


def _files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(path for path in folder.iterdir()
                  if path.is_file() and path.suffix in EXTENSIONS)


def split_name(path: Path) -> tuple[str, str | None]:
    """(base stem, environment) of a file: orders.prod.yml -> ("orders", "prod")."""
    stem = path.name[: -len(path.suffix)]
    base, dot, environment = stem.partition(".")
    return (base, environment) if dot else (stem, None)


def file_groups(folder: Path) -> tuple[list[tuple[Path, dict[str, Path]]], list[Path]]:
    """Base files with their overlays by environment, and overlays that have no base."""
    bases: dict[str, Path] = {}
    overlays: dict[str, dict[str, Path]] = {}
    for path in _files(folder):
        base, environment = split_name(path)
        if environment is None:
            bases.setdefault(base, path)
        else:
            overlays.setdefault(base, {})[environment] = path
    orphans = [path for base, by_env in overlays.items() if base not in bases
               for path in by_env.values()]
    return [(path, overlays.get(base, {})) for base, path in sorted(bases.items())], orphans


def signature_of(paths: list[Path]) -> list[list[Any]]:
    signature = []
    for path in paths:
        stat = path.stat()
        signature.append([str(path), stat.st_mtime_ns, stat.st_size])
    return signature


def read_source(path: Path) -> Source:
    return Source(path, path.read_bytes().decode("utf-8-sig", errors="replace"))


def load_mapping(source: Source) -> Any:
    """A workflow file as JSON values; DefinitionSyntaxError with the line on bad syntax."""
    return definition_load(source.path.read_bytes(), fmt="yaml")


def load_any(source: Source) -> Any:
    """A schedule file: a mapping or a list of mappings, read as definitions are."""
    loader = DefinitionLoader(source.text)
    try:
        return loader.get_single_data()
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


def syntax_error(exc: DefinitionSyntaxError) -> SyncError:
    details = exc.problem.details
    return SyncError(exc.problem.message, details.get("line"), details.get("column"),
                     code="syntax_error")


def merge_schedules(base: Any, overlay: Any) -> Any:
    """Schedule lists merge item by item on (workflow, name); mappings deep-merge."""
    if isinstance(base, list) and isinstance(overlay, list):
        def key(item: Any) -> tuple:
            return (item.get("workflow"), item.get("name", "default")) \
                if isinstance(item, dict) else (None, None)

        result = copy.deepcopy(base)
        index = {key(item): position for position, item in enumerate(result)}
        for item in overlay:
            if key(item) in index:
                result[index[key(item)]] = deep_merge(result[index[key(item)]], item)
            else:
                result.append(copy.deepcopy(item))
        return result
    return deep_merge(base, overlay)
