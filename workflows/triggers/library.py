"""The template library: ready workflows in `workflows/library/*.yml`, instantiated with
parameters (docs/templates.md).

A template file holds metadata (`title`, `description`, `tags`), `parameters` (each a
JSON Schema with `type`, `default`, `description`, and `required` when it has no default),
an optional suggested `schedule`, and a `definition` without `name` and `namespace`.

Parameters are written `[[ name ]]`, so the runtime templates `{{ ... }}` (and `{% %}`)
stay as they are. A string that is exactly one `[[ name ]]` becomes the parameter's value
with its type (a number, a list...); a key whose value is exactly a parameter that is null
is left out. Any other string holding `[[ ]]` is rendered by a sandboxed Jinja environment
with `[[ ]]` / `[% %]` delimiters and strict undefined names. Nothing is evaluated as
Python.
"""

from __future__ import annotations

import copy
import functools
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml
from django.db import transaction
from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from config.errors import ApplicationError, NotFoundError
from config.parsers import field_path
from workflows import services
from workflows.models import Workflow
from workflows.user_schemas import user_schema_errors

LIBRARY_DIR = Path(__file__).resolve().parent.parent / "library"
_SINGLE = re.compile(r"^\s*\[\[\s*([A-Za-z_][A-Za-z0-9_]*)\s*\]\]\s*$")
_MARKERS = ("[[", "[%", "[#")
_ENVIRONMENT = SandboxedEnvironment(
    variable_start_string="[[", variable_end_string="]]",
    block_start_string="[%", block_end_string="%]",
    comment_start_string="[#", comment_end_string="#]",
    undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True,
)
_SCHEMA_KEYS_HIDDEN = ("required", "default")
_DROP = object()


class TemplateErrorCode(StrEnum):
    TEMPLATE_NOT_FOUND = "template_not_found"
    INVALID_PARAMETERS = "invalid_parameters"


class TemplateNotFoundError(NotFoundError):
    code = TemplateErrorCode.TEMPLATE_NOT_FOUND


class TemplateParametersError(ApplicationError):
    """Parameters that are missing, unknown or of the wrong kind; details name each one."""

    code = TemplateErrorCode.INVALID_PARAMETERS

    def __init__(self, problems: dict[str, list[str]]) -> None:
        first = next(iter(problems))
        super().__init__(
            f"Template parameter '{first}': {problems[first][0]}",
            details={"fields": {f"parameters.{name}": messages
                                for name, messages in problems.items()}},
        )


@dataclass(frozen=True)
class Parameter:
    """One parameter of a template: a JSON Schema, its default and whether it is required."""

    name: str
    schema: dict[str, Any]
    required: bool
    default: Any = None

    @property
    def type(self) -> Any:
        return self.schema.get("type")

    @property
    def description(self) -> str:
        return self.schema.get("description", "")

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "description": self.description,
                "required": self.required, "default": None if self.required else self.default,
                "schema": self.schema}


@dataclass(frozen=True)
class Template:
    """A ready workflow of the library."""

    name: str
    title: str
    description: str
    tags: tuple[str, ...]
    parameters: tuple[Parameter, ...]
    definition: dict[str, Any]
    schedule: dict[str, Any] | None

    def defaults(self) -> dict[str, Any]:
        return {p.name: copy.deepcopy(p.default) for p in self.parameters if not p.required}

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, "description": self.description,
                "tags": list(self.tags),
                "parameters": [parameter.as_dict() for parameter in self.parameters]}


def _template_from(path: Path) -> Template:
    document = yaml.safe_load(path.read_text())
    parameters = []
    for name, spec in (document.get("parameters") or {}).items():
        required = bool(spec.get("required", "default" not in spec))
        schema = {key: value for key, value in spec.items() if key not in _SCHEMA_KEYS_HIDDEN}
        parameters.append(Parameter(name, schema, required, spec.get("default")))
    return Template(
        name=path.stem, title=document["title"], description=document.get("description", ""),
        tags=tuple(document.get("tags") or ()), parameters=tuple(parameters),
        definition=document["definition"], schedule=document.get("schedule"),
    )


@functools.cache
def _library(directory: Path = LIBRARY_DIR) -> dict[str, Template]:
    return {path.stem: _template_from(path) for path in sorted(directory.glob("*.yml"))}


def template_list() -> list[Template]:
    """Every template of the library, by name."""
    return list(_library().values())


def template_get(name: str) -> Template:
    """One template; TemplateNotFoundError (404) when the library has none of that name."""
    try:
        return _library()[name]
    except KeyError:
        raise TemplateNotFoundError(
            f"There is no template '{name}'; see GET /api/templates.",
            details={"known": sorted(_library())},
        ) from None


def template_parameters(template: Template, given: dict[str, Any]) -> dict[str, Any]:
    """The parameters with defaults filled in; TemplateParametersError naming each bad one."""
    problems: dict[str, list[str]] = {}
    known = {parameter.name: parameter for parameter in template.parameters}
    for name in sorted(set(given) - set(known)):
        problems[name] = [f"Unknown parameter; this template takes {', '.join(known)}."]
    values = {**template.defaults(), **{k: v for k, v in given.items() if k in known}}
    for parameter in template.parameters:
        if parameter.name not in values:
            problems[parameter.name] = ["This parameter is required."]
            continue
        value = values[parameter.name]
        if value is None and not parameter.required and parameter.default is None:
            continue
        for error in user_schema_errors(parameter.schema, value, field=parameter.name):
            path = field_path(error.absolute_path)
            problems.setdefault(parameter.name, []).append(
                f"{path + ': ' if path else ''}{error.message}")
    if problems:
        raise TemplateParametersError(problems)
    return values


def _render(value: Any, values: dict[str, Any]) -> Any:
    if isinstance(value, dict):
        rendered = {key: _render(item, values) for key, item in value.items()}
        return {key: item for key, item in rendered.items() if item is not _DROP}
    if isinstance(value, list):
        return [item for item in (_render(item, values) for item in value) if item is not _DROP]
    if not isinstance(value, str) or not any(marker in value for marker in _MARKERS):
        return value
    single = _SINGLE.match(value)
    if single and single.group(1) in values:
        found = values[single.group(1)]
        return _DROP if found is None else copy.deepcopy(found)
    try:
        return _ENVIRONMENT.from_string(value).render(values)
    except TemplateError as exc:
        raise ApplicationError(
            f"The template could not be filled in: {exc}",
            code=TemplateErrorCode.INVALID_PARAMETERS,
        ) from None


def template_render(template: Template, parameters: dict[str, Any]) -> dict[str, Any]:
    """The template's definition and suggested schedule with the parameters filled in."""
    values = template_parameters(template, parameters)
    return {
        "definition": _render(template.definition, values),
        "schedule": _render(template.schedule, values) if template.schedule else None,
    }


def template_preview(template: Template) -> dict[str, Any] | None:
    """The definition filled with the defaults, or None when a parameter has no default."""
    if any(parameter.required for parameter in template.parameters):
        return None
    return template_render(template, {})["definition"]


def template_instantiate(
    *,
    name: str,
    parameters: dict[str, Any],
    workflow_name: str,
    namespace: str = "default",
    actor: Any,
    tags: list[str] | None = None,
    create_schedule: bool = False,
) -> Workflow:
    """Create a workflow from a template; it is validated like any definition.

    With `create_schedule`, the template's suggested schedule is created too (in the same
    transaction: a refused schedule creates no workflow).
    """
    template = template_get(name)
    rendered = template_render(template, parameters)
    definition = {"name": workflow_name, "namespace": namespace, **rendered["definition"]}
    with transaction.atomic():
        workflow = services.workflow_create(
            definition=definition, actor=actor,
            tags=[*(tags or []), f"template:{template.name}"],
            change_note=f"From template {template.name}",
        )
        if create_schedule and rendered["schedule"]:
            from workflows.triggers.schedules import schedule_create

            schedule_create(workflow=workflow, actor=actor, source=f"template:{template.name}",
                            **rendered["schedule"])
    return workflow
