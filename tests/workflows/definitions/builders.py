"""Small builders of definitions for the validation tests."""

from __future__ import annotations

from typing import Any

from workflows.definitions import Problem, ValidationReport


def logger(node_id: str, message: str = "hello", **extra: Any) -> dict[str, Any]:
    return {"id": node_id, "type": "Logger", "data": {"message": message}, **extra}


def workflow(nodes: list[dict], edges: list[dict] | None = None, **extra: Any) -> dict[str, Any]:
    return {"name": "test", "nodes": nodes, "edges": edges or [], **extra}


def edge(source: str, target: str, handle: str | None = None) -> dict[str, Any]:
    result = {"source": source, "target": target}
    if handle is not None:
        result["sourceHandle"] = handle
    return result


def only(report: ValidationReport, code: str) -> Problem:
    [problem] = [p for p in report.errors if p.code == code]
    return problem


def codes(report: ValidationReport) -> list[str]:
    return [p.code for p in report.errors]
