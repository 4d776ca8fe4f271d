"""jsonschema errors turned into located, readable findings.

jsonschema reports a missing property at its parent and every unknown property in one
error, and `oneOf`/`anyOf` failures with a dump of the whole instance. Here each finding
points at the field concerned and says what to change.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from workflows.nodes.fragments import SINGLE_TEMPLATE
from workflows.user_schemas import SchemaValidator

PathPart = str | int


@dataclass(frozen=True)
class SchemaFinding:
    """One schema violation: where in the instance (keys and indexes) and what is wrong.

    `message` is a predicate that reads after the field's path: "is required",
    "is invalid: 0 is less than the minimum of 1".
    """

    path: tuple[PathPart, ...]
    message: str


def _quoted(names: list[str]) -> str:
    return ", ".join(f"'{name}'" for name in names)


def _required(error: ValidationError) -> SchemaFinding:
    path = tuple(error.absolute_path)
    for name in error.validator_value:
        if error.message == f"{name!r} is a required property":
            return SchemaFinding((*path, name), "is required")
    return SchemaFinding(path, f"is invalid: {error.message}")


def _additional(error: ValidationError) -> Iterator[SchemaFinding]:
    path = tuple(error.absolute_path)
    allowed = sorted(error.schema.get("properties", {}))
    patterns = error.schema.get("patternProperties", {})
    hint = f"allowed: {', '.join(allowed)}" if allowed else "no fields are allowed"
    if "^x-" in patterns:
        hint += ", and x-* extensions"
    validator = SchemaValidator({"patternProperties": patterns, "additionalProperties": False})
    for key in error.instance:
        if key not in allowed and not validator.is_valid({key: None}):
            yield SchemaFinding((*path, key), f"is not a known field ({hint})")


def _dependency(error: ValidationError) -> SchemaFinding:
    """`dependentRequired`, located at the field that needs another one."""
    path = tuple(error.absolute_path)
    for name, needed in error.validator_value.items():
        for other in needed:
            if error.message == f"{other!r} is a dependency of {name!r}":
                return SchemaFinding((*path, name), f"needs '{other}' as well")
    return SchemaFinding(path, f"is invalid: {error.message}")


def _pattern(error: ValidationError) -> SchemaFinding:
    """A pattern mismatch, explained by the schema's description when it has one."""
    description = error.schema.get("description") if isinstance(error.schema, dict) else None
    message = (
        f"{error.instance!r} is not in the expected form ({description.rstrip('.')})"
        if description
        else error.message
    )
    return SchemaFinding(tuple(error.absolute_path), f"is invalid: {message}")


def _exclusive_choice(error: ValidationError) -> SchemaFinding | None:
    """`oneOf` of branches that each only require fields: "set exactly one of ..."."""
    branches = error.validator_value
    if not all(isinstance(b, dict) and set(b) == {"required"} for b in branches):
        return None
    names = [name for branch in branches for name in branch["required"]]
    present = [name for name in names if name in error.instance]
    if present:
        return SchemaFinding(
            tuple(error.absolute_path),
            f"must have only one of {_quoted(names)} (it has {_quoted(present)})",
        )
    return SchemaFinding(tuple(error.absolute_path), f"needs one of {_quoted(names)}")


def _alternatives(error: ValidationError) -> SchemaFinding:
    """`anyOf`/`oneOf`: the most relevant branch's error; a template alternative is named."""
    branches = error.validator_value
    template_index = next(
        (index for index, branch in enumerate(branches) if branch == SINGLE_TEMPLATE), None
    )
    context = [e for e in error.context if e.relative_schema_path[0] != template_index]
    # a branch of the instance's own type explains more than "is not of type ..."
    typed = [e for e in context if e.validator != "type"]
    best = best_match(typed or context) if context else None
    if best is None:
        return SchemaFinding(tuple(error.absolute_path), "matches none of the allowed forms")
    suffix = " (or one {{ expression }})" if template_index is not None else ""
    return SchemaFinding(tuple(best.absolute_path), f"is invalid: {best.message}{suffix}")


def schema_findings(validator: Draft202012Validator, instance: Any) -> list[SchemaFinding]:
    """Every violation of `validator`'s schema by `instance`, each at its own field."""
    findings: list[SchemaFinding] = []
    for error in validator.iter_errors(instance):
        if error.validator == "required":
            findings.append(_required(error))
        elif error.validator == "additionalProperties":
            findings.extend(_additional(error))
        elif error.validator == "dependentRequired":
            findings.append(_dependency(error))
        elif error.validator == "pattern":
            findings.append(_pattern(error))
        elif error.validator in ("oneOf", "anyOf"):
            findings.append(_exclusive_choice(error) or _alternatives(error))
        else:
            path = tuple(error.absolute_path)
            findings.append(SchemaFinding(path, f"is invalid: {error.message}"))
    return findings
