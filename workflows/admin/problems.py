"""How the admin shows a definition problem on one line."""

from __future__ import annotations


def problem_line(problem: dict) -> str:
    """`node: message` (or edge, or field), as the admin lists a validation problem."""
    where = problem.get("node") or problem.get("edge") or problem.get("field")
    return f"{where}: {problem['message']}" if where else problem["message"]
