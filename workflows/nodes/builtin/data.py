"""Node types that compute, check or record data: variables, transforms, checks, logs."""

from __future__ import annotations

import logging
from typing import Any

import jmespath

from workflows.nodes.base import NodeCategory, NodeType
from workflows.nodes.context import NodeContext
from workflows.nodes.faults import ValidationFault
from workflows.nodes.fragments import json_schema_problems, templated
from workflows.user_schemas import UserSchemaError, user_schema_errors

logger = logging.getLogger("workflows.nodes.logger")


class Variable(NodeType):
    name = "Variable"
    reads_outputs = False
    pure = True
    category = NodeCategory.DATA
    description = "Set execution variables, read by later nodes as `vars.<name>`."
    data_schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["set"],
        "properties": {
            "set": {
                "type": "object",
                "minProperties": 1,
                "propertyNames": {"pattern": r"^[A-Za-z_][A-Za-z0-9_]*$", "maxLength": 64},
                "description": "Variable name -> value; strings may hold templates.",
            },
        },
    }
    output_schema = {"type": "object", "description": "The values set, by name."}

    def execute(self, context: NodeContext) -> Any:
        values = context.data["set"]
        context.set_variables(values)
        return values


class Transform(NodeType):
    name = "Transform"
    reads_outputs = False
    pure = True
    category = NodeCategory.DATA
    description = (
        "Reshape data: render `template` (any JSON value whose strings may hold templates), "
        "or apply a JMESPath query to `source`."
    )
    data_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "template": {"description": "The result, with templates in its strings."},
            "jmespath": {"type": "string", "minLength": 1, "description": "A JMESPath query."},
            "source": {
                "description": "The value the query applies to (default: the whole context "
                "but `secrets`); usually one {{ expression }}.",
            },
        },
        "oneOf": [{"required": ["template"]}, {"required": ["jmespath"]}],
        "dependentRequired": {"source": ["jmespath"]},
    }
    output_schema = {"description": "The result."}

    @classmethod
    def outputs_read(cls, data: dict[str, Any]) -> bool:
        """A JMESPath query without a `source` applies to the whole scope, `nodes` too."""
        return "jmespath" in data and "source" not in data

    def execute(self, context: NodeContext) -> Any:
        if "template" in context.data:
            return context.data["template"]
        # the whole context, but not `secrets`: a query could reshape them into an output
        source = context.data.get(
            "source", {key: value for key, value in context.scope.items() if key != "secrets"})
        try:
            return jmespath.search(context.data["jmespath"], source)
        except jmespath.exceptions.JMESPathError as exc:
            raise ValidationFault(f"Node '{context.node_id}' data.jmespath: {exc}") from None


class Logger(NodeType):
    name = "Logger"
    reads_outputs = False
    pure = True
    category = NodeCategory.UTILITY
    description = "Write a message to the execution's log."
    data_schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["message"],
        "properties": {
            "level": {"enum": ["debug", "info", "warning", "error"], "default": "info"},
            "message": {"type": "string", "minLength": 1},
        },
    }
    output_schema = {
        "type": "object",
        "required": ["logged"],
        "properties": {"logged": {"type": "string", "description": "The message as written."}},
    }

    def execute(self, context: NodeContext) -> Any:
        message = str(context.data["message"])
        level = context.data.get("level", "info")
        context.log(level, message)
        # the worker's own log is written now, before the engine redacts what it stores
        logger.log(logging.getLevelName(level.upper()), context.secrets.redact(message),
                   extra={"execution_id": context.execution_id, "node_id": context.node_id})
        return {"logged": message}


class Counter(NodeType):
    name = "Counter"
    reads_outputs = False
    category = NodeCategory.UTILITY
    description = (
        "Add to a named counter atomically and output its new value; the counter lives per "
        "execution or across all executions."
    )
    data_schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["name"],
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 100},
            "scope": {
                "enum": ["workflow", "global"],
                "default": "workflow",
                "description": "workflow: one counter per workflow, kept across its "
                "executions; global: shared by all workflows.",
            },
            "increment": templated({
                "type": "integer",
                "minimum": -(10**15),
                "maximum": 10**15,
                "default": 1,
                "description": "Added to the counter; negative counts down.",
            }),
        },
    }
    output_schema = {
        "type": "object",
        "required": ["value"],
        "properties": {"value": {"type": "integer"}},
    }

    def execute(self, context: NodeContext) -> Any:
        name, increment = context.data["name"], context.data.get("increment", 1)
        if not isinstance(increment, int) or isinstance(increment, bool):
            raise ValidationFault(
                f"Node '{context.node_id}' data.increment must be an integer, not {increment!r}.")
        scope = context.data.get("scope", "workflow")
        # a redelivered attempt gets the value it already counted instead of counting again
        return context.external_call(
            {"scope": scope, "name": name, "increment": increment},
            lambda key: {"value": context.counter_add(name, increment,
                                                      per_workflow=scope == "workflow")})


class Validator(NodeType):
    name = "Validator"
    reads_outputs = False
    pure = True
    category = NodeCategory.DATA
    description = (
        "Check a value against a JSON Schema. Mode fail fails the node on an invalid value; "
        "mode branch takes the 'valid' or 'invalid' handle."
    )
    data_schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["value", "schema"],
        "properties": {
            "value": {"description": "The value to check; usually one {{ expression }}."},
            "schema": {"type": "object", "description": "A JSON Schema (Draft 2020-12)."},
            "mode": {"enum": ["fail", "branch"], "default": "fail"},
        },
    }
    output_schema = {
        "type": "object",
        "required": ["valid", "errors"],
        "properties": {
            "valid": {"type": "boolean"},
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"path": {"type": "string"}, "message": {"type": "string"}},
                },
            },
        },
    }
    handles = ("valid", "invalid")
    dynamic_handles = "Only in mode 'branch'; mode 'fail' does not branch."

    @classmethod
    def branch_handles(cls, data: dict[str, Any]) -> list[str]:
        return list(cls.handles) if data.get("mode") == "branch" else []

    def execute(self, context: NodeContext) -> Any:
        try:
            found = user_schema_errors(context.data["schema"], context.data["value"])
        except UserSchemaError as exc:
            raise ValidationFault(
                f"Node '{context.node_id}': the schema cannot be used: {exc.problems[0][1]}",
                details={"problems": [message for _, message in exc.problems]},
            ) from None
        errors = [
            {"path": "/".join(str(part) for part in error.absolute_path), "message": error.message}
            for error in found
        ]
        if errors and context.data.get("mode", "fail") == "fail":
            raise ValidationFault(
                f"Node '{context.node_id}': the value is invalid: {errors[0]['message']}",
                details={"errors": errors},
            )
        return {"valid": not errors, "errors": errors}

    def taken_branch(self, context: NodeContext, output: Any) -> str | None:
        if context.data.get("mode", "fail") != "branch":
            return None
        return "valid" if output["valid"] else "invalid"

    @classmethod
    def validate_data(cls, data: dict[str, Any]) -> list[tuple[str, str]]:
        return json_schema_problems(data["schema"], "schema")
