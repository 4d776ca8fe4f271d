"""Node types that wait without holding a worker: delays, timers, people and messages."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, timedelta
from typing import Any

from cronsim import CronSimError
from django.conf import settings

from workflows.cron import cron_next
from workflows.nodes.base import NodeCategory, NodeType
from workflows.nodes.context import NodeContext
from workflows.nodes.faults import ValidationFault
from workflows.nodes.fragments import (
    DATETIME_OR_TEMPLATE,
    HANDLE_NAME,
    WAIT_SECONDS,
    aware_datetime_problem,
    json_schema_problems,
    templated,
)
from workflows.user_schemas import UserSchemaError, user_schema_errors


def _moment(value: Any, node_id: str, field: str) -> datetime:
    """A rendered date-time (ISO 8601 with a UTC offset) as an aware UTC datetime."""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise ValidationFault(
            f"Node '{node_id}' data.{field}: {value!r} is not an ISO 8601 date-time."
        ) from None
    if moment.tzinfo is None:
        raise ValidationFault(f"Node '{node_id}' data.{field}: {value!r} has no UTC offset.")
    return moment.astimezone(UTC)


def _deadline(context: NodeContext) -> datetime | None:
    timeout = context.data.get("timeout")
    if not timeout:
        return None
    # Held within the maximum here too: a definition stored before it existed may say more.
    return datetime.now(UTC) + timedelta(seconds=min(float(timeout), settings.WORKFLOW_WAIT_MAX))


CRON_MACROS = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
_MONTHS = {name: number for number, name in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1
)}
_WEEKDAYS = {name: number for number, name in enumerate(
    ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
)}
_CRON_FIELDS = (
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    ("month", 1, 12, _MONTHS),
    ("day of week", 0, 7, _WEEKDAYS),
)


def _cron_value(text: str, low: int, high: int, names: dict[str, int]) -> int:
    number = int(text) if text.isdigit() else names.get(text.lower())
    if number is None:
        raise ValueError(f"'{text}' is not a number")
    if not low <= number <= high:
        raise ValueError(f"{number} is outside {low}-{high}")
    return number


def _cron_part_check(part: str, low: int, high: int, names: dict[str, int]) -> None:
    base, slash, step = part.partition("/")
    if slash and not (step.isdigit() and int(step) >= 1):
        raise ValueError(f"step '{step}' is not a positive number")
    if base == "*":
        return
    start, dash, end = base.partition("-")
    first = _cron_value(start, low, high, names)
    if dash and _cron_value(end, low, high, names) < first:
        raise ValueError(f"range '{base}' ends before it starts")


def cron_problem(expression: str) -> str | None:
    """Why a five-field cron expression (or an @daily-style macro) is unusable, or None.

    Fields: minute, hour, day of month, month (1-12 or jan-dec), day of week (0-7 or
    sun-sat); each a `*`, a value, a range `a-b`, with an optional `/step`, or a list of
    those separated by commas.
    """
    text = expression.strip()
    if text in CRON_MACROS:
        return None
    fields = text.split()
    if len(fields) != len(_CRON_FIELDS):
        return (
            "A cron expression has 5 fields (minute hour day-of-month month day-of-week), "
            f"not {len(fields)}."
        )
    for value, (label, low, high, names) in zip(fields, _CRON_FIELDS, strict=True):
        try:
            for part in value.split(","):
                _cron_part_check(part, low, high, names)
        except ValueError as exc:
            return f"The {label} field '{value}' is invalid: {exc}."
    return None


def timezone_problem(name: str) -> str | None:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return f"'{name}' is not an IANA time zone, e.g. Europe/Paris"
    return None


class Delay(NodeType):
    name = "Delay"
    reads_outputs = False
    category = NodeCategory.WAIT
    description = "Wait a number of seconds, or until a date-time."
    data_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "seconds": templated({"type": "number", "minimum": 0,
                                  "maximum": settings.WORKFLOW_WAIT_MAX}),
            "until": DATETIME_OR_TEMPLATE,
        },
        "oneOf": [{"required": ["seconds"]}, {"required": ["until"]}],
    }
    output_schema = {
        "type": "object",
        "required": ["waited_until"],
        "properties": {"waited_until": {"type": "string", "format": "date-time"}},
    }
    waits = True

    @classmethod
    def validate_data(cls, data: dict[str, Any]) -> list[tuple[str, str]]:
        problem = aware_datetime_problem(data["until"]) if "until" in data else None
        return [("until", problem)] if problem else []

    def execute(self, context: NodeContext) -> Any:
        if "until" in context.data:
            due = _moment(context.data["until"], context.node_id, "until")
        else:
            try:
                seconds = float(context.data["seconds"])
            except (TypeError, ValueError):
                raise ValidationFault(
                    f"Node '{context.node_id}' data.seconds: {context.data['seconds']!r} "
                    "is not a number."
                ) from None
            if not 0 <= seconds <= settings.WORKFLOW_WAIT_MAX:
                raise ValidationFault(
                    f"Node '{context.node_id}' data.seconds: {seconds!r} is not between 0 and "
                    f"{settings.WORKFLOW_WAIT_MAX}."
                )
            due = datetime.now(UTC) + timedelta(seconds=seconds)
        if due <= datetime.now(UTC):
            return {"waited_until": due.isoformat()}
        return context.wait("timer", due_at=due, request={"waited_until": due.isoformat()})

    @classmethod
    def on_resume(cls, request, payload, *, by, timed_out):
        return {"waited_until": request["waited_until"]}, None


class Webhook(NodeType):
    name = "Webhook"
    reads_outputs = False
    category = NodeCategory.WAIT
    description = (
        "Wait for an HTTP request to this node's unique URL (POST /api/hooks/{token}); "
        "the request's body and headers are the output."
    )
    data_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "timeout": {
                **WAIT_SECONDS,
                "description": "Seconds to wait; the node fails after them. Default: no limit.",
            },
            "methods": {
                "type": "array",
                "items": {"enum": ["POST", "PUT", "PATCH"]},
                "minItems": 1,
                "uniqueItems": True,
                "default": ["POST"],
            },
        },
    }
    output_schema = {
        "type": "object",
        "required": ["body", "headers"],
        "properties": {
            "body": {"description": "The parsed JSON body, or its text."},
            "headers": {"type": "object", "additionalProperties": {"type": "string"}},
        },
    }
    waits = True

    def execute(self, context: NodeContext) -> Any:
        methods = context.data.get("methods", ["POST"])
        return context.wait("webhook", due_at=_deadline(context), on_due="fail",
                            request={"methods": methods})

    @classmethod
    def on_resume(cls, request, payload, *, by, timed_out):
        return {"body": payload.get("body"), "headers": payload.get("headers", {})}, None


class Timer(NodeType):
    name = "Timer"
    reads_outputs = False
    category = NodeCategory.WAIT
    description = "Wait until a date-time, or until the next occurrence of a cron expression."
    data_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "at": DATETIME_OR_TEMPLATE,
            "cron": {
                "type": "string",
                "minLength": 1,
                "description": "Five fields (minute hour day month weekday) or @daily etc.",
            },
            "timezone": {
                "type": "string",
                "default": "UTC",
                "description": "IANA time zone the cron expression is read in.",
            },
        },
        "oneOf": [{"required": ["at"]}, {"required": ["cron"]}],
        "dependentRequired": {"timezone": ["cron"]},
    }
    output_schema = {
        "type": "object",
        "required": ["fired_at"],
        "properties": {"fired_at": {"type": "string", "format": "date-time"}},
    }
    waits = True

    @classmethod
    def validate_data(cls, data: dict[str, Any]) -> list[tuple[str, str]]:
        problems = [
            ("at", aware_datetime_problem(data["at"]) if "at" in data else None),
            ("cron", cron_problem(data["cron"]) if "cron" in data else None),
            ("timezone", timezone_problem(data["timezone"]) if "timezone" in data else None),
        ]
        return [(field, message) for field, message in problems if message]

    def execute(self, context: NodeContext) -> Any:
        now = datetime.now(UTC)
        if "at" in context.data:
            due = _moment(context.data["at"], context.node_id, "at")
        else:
            try:
                due = cron_next(context.data["cron"], context.data.get("timezone", "UTC"), now)
            except (CronSimError, zoneinfo.ZoneInfoNotFoundError) as exc:
                raise ValidationFault(f"Node '{context.node_id}' data.cron: {exc}") from None
        if due <= now:
            return {"fired_at": due.isoformat()}
        return context.wait("timer", due_at=due, request={"fired_at": due.isoformat()})

    @classmethod
    def on_resume(cls, request, payload, *, by, timed_out):
        return {"fired_at": request["fired_at"]}, None


class UserAction(NodeType):
    name = "UserAction"
    reads_outputs = False
    category = NodeCategory.WAIT
    description = (
        "A task for a person or a role, e.g. an approval: the node waits until someone "
        "answers with one of the outcomes, which is the branch taken."
    )
    data_schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["assignee", "prompt"],
        "properties": {
            "assignee": {
                "type": "string",
                "pattern": r"^(?:role:\S.*|[A-Za-z0-9_.@+-]+|\s*\{\{[\s\S]*\}\}\s*)$",
                "description": "A username, 'role:<group name>', or a template giving one.",
            },
            "prompt": {"type": "string", "minLength": 1},
            "form": {
                "type": "object",
                "description": "JSON Schema of the response the person fills in.",
            },
            "outcomes": {
                "type": "array",
                "items": HANDLE_NAME,
                "minItems": 1,
                "uniqueItems": True,
                "default": ["done"],
                "description": "The answers a person may give; each is a branch handle.",
            },
            "timeout": {**WAIT_SECONDS, "description": "Seconds to wait for an answer."},
            "timeout_outcome": {
                "type": "string",
                "description": "The outcome taken on timeout; without it the node fails.",
            },
        },
        "dependentRequired": {"timeout_outcome": ["timeout"]},
    }
    output_schema = {
        "type": "object",
        "required": ["outcome", "response", "by"],
        "properties": {
            "outcome": {"type": "string"},
            "response": {"type": "object", "description": "The form's data."},
            "by": {"type": ["string", "null"], "description": "Username; null on timeout."},
        },
    }
    dynamic_handles = "The `outcomes` (default: ['done'])."
    waits = True

    @classmethod
    def branch_handles(cls, data: dict[str, Any]) -> list[str]:
        return list(data.get("outcomes", cls.data_schema["properties"]["outcomes"]["default"]))

    @classmethod
    def validate_data(cls, data: dict[str, Any]) -> list[tuple[str, str]]:
        problems = json_schema_problems(data["form"], "form") if "form" in data else []
        outcomes = cls.branch_handles(data)
        if "timeout_outcome" in data and data["timeout_outcome"] not in outcomes:
            problems.append(
                ("timeout_outcome", f"'{data['timeout_outcome']}' is not one of {outcomes}.")
            )
        return problems

    def execute(self, context: NodeContext) -> Any:
        data = context.data
        request = {
            "prompt": data["prompt"],
            "form": data.get("form"),
            "outcomes": self.branch_handles(data),
            "timeout_outcome": data.get("timeout_outcome"),
        }
        return context.wait(
            "user_action", assignee=str(data["assignee"]).strip(), due_at=_deadline(context),
            on_due="resume" if data.get("timeout_outcome") else "fail", request=request,
        )

    @classmethod
    def on_resume(cls, request, payload, *, by, timed_out):
        if timed_out:
            return {"outcome": request["timeout_outcome"], "response": {}, "by": None}, (
                request["timeout_outcome"])
        payload = payload or {}
        outcomes = request["outcomes"]
        outcome = payload.get("outcome") or (outcomes[0] if len(outcomes) == 1 else None)
        if outcome not in outcomes:
            raise ValidationFault(
                f"outcome must be one of {outcomes}, not {payload.get('outcome')!r}.",
                details={"fields": {"outcome": [f"One of {outcomes}."]}},
            )
        response = payload.get("payload") or {}
        if request.get("form"):
            try:
                found = user_schema_errors(request["form"], response, field="form")
            except UserSchemaError as exc:
                raise ValidationFault(f"The form cannot be used: {exc.problems[0][1]}",
                                      details={"fields": {"form": [exc.problems[0][1]]}}) \
                    from None
            errors = [
                f"{'/'.join(str(p) for p in error.absolute_path) or 'payload'}: {error.message}"
                for error in found
            ]
            if errors:
                raise ValidationFault(
                    f"The response does not fill the form: {errors[0]}",
                    details={"fields": {"payload": errors}},
                )
        return {"outcome": outcome, "response": response, "by": by}, outcome

    def taken_branch(self, context: NodeContext, output: Any) -> str | None:
        return output.get("outcome") if isinstance(output, dict) else None


class WaitForMessage(NodeType):
    name = "WaitForMessage"
    reads_outputs = False
    category = NodeCategory.WAIT
    description = (
        "Wait for an external message (POST /api/messages) of a type whose correlation key "
        "matches; its payload is the output."
    )
    data_schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["message_type", "correlation_key"],
        "properties": {
            "message_type": {"type": "string", "pattern": r"^[A-Za-z0-9_.:-]+$", "maxLength": 200},
            "correlation_key": {
                "type": "string",
                "minLength": 1,
                "description": "Usually a template, e.g. 'order-{{ input.order_id }}'.",
            },
            "timeout": {**WAIT_SECONDS, "description": "Seconds to wait; then the node fails."},
        },
    }
    output_schema = {
        "type": "object",
        "required": ["payload"],
        "properties": {"payload": {"description": "The message's payload."}},
    }
    waits = True

    def execute(self, context: NodeContext) -> Any:
        key = f"{context.data['message_type']}:{context.data['correlation_key']}"
        return context.wait("message", key=key, due_at=_deadline(context), on_due="fail",
                            request={"message_type": context.data["message_type"],
                                     "correlation_key": context.data["correlation_key"]})

    @classmethod
    def on_resume(cls, request, payload, *, by, timed_out):
        return {"payload": payload}, None
