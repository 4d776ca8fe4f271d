"""Node types that shape the flow: branches, loops and child workflows."""

from __future__ import annotations

from typing import Any

from workflows.nodes.base import NodeCategory, NodeType
from workflows.nodes.context import NodeContext
from workflows.nodes.fragments import WORKFLOW_REFERENCE, templated

EXPRESSION = {
    "type": "string",
    "minLength": 1,
    "description": "A Jinja expression, bare or as one {{ expression }}.",
}
DEFAULT_CASE = "default"


class Conditional(NodeType):
    name = "Conditional"
    category = NodeCategory.CONTROL
    description = (
        "Branch on an expression (handles 'true' and 'false'), or on `cases`: the first case "
        "whose expression is true is taken, else 'default'."
    )
    data_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "expression": EXPRESSION,
            "cases": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["name", "expression"],
                    "properties": {
                        "name": {
                            "type": "string",
                            "pattern": r"^[a-z][a-z0-9_]*$",
                            "maxLength": 64,
                            "description": "The case's handle: lowercase letters, digits, '_'; "
                            "unique, not 'default'.",
                        },
                        "expression": EXPRESSION,
                    },
                },
            },
        },
        "oneOf": [{"required": ["expression"]}, {"required": ["cases"]}],
    }
    output_schema = {
        "type": "object",
        "required": ["branch"],
        "properties": {"branch": {"type": "string", "description": "The handle taken."}},
    }
    handles = ("true", "false")
    dynamic_handles = "With `cases`: each case's name, then 'default'."
    expression_fields = ("expression", "cases[*].expression")

    @classmethod
    def branch_handles(cls, data: dict[str, Any]) -> list[str]:
        if "cases" in data:
            return [case["name"] for case in data["cases"]] + [DEFAULT_CASE]
        return list(cls.handles)

    @classmethod
    def validate_data(cls, data: dict[str, Any]) -> list[tuple[str, str]]:
        problems = []
        seen: set[str] = set()
        for index, case in enumerate(data.get("cases", [])):
            name = case["name"]
            if name == DEFAULT_CASE:
                problems.append((f"cases[{index}].name", "'default' is the fallback's handle."))
            elif name in seen:
                problems.append((f"cases[{index}].name", f"Case name '{name}' is used twice."))
            seen.add(name)
        return problems

    def execute(self, context: NodeContext) -> Any:
        data = context.raw_data
        if "expression" in data:
            taken = bool(context.evaluate(data["expression"], path="data.expression"))
            return {"branch": "true" if taken else "false"}
        for index, case in enumerate(data["cases"]):
            if context.evaluate(case["expression"], path=f"data.cases[{index}].expression"):
                return {"branch": case["name"]}
        return {"branch": DEFAULT_CASE}

    def taken_branch(self, context: NodeContext, output: Any) -> str | None:
        return output["branch"]


class Loop(NodeType):
    name = "Loop"
    category = NodeCategory.CONTROL
    description = (
        "Run a body once per item of a list, one at a time or several at once. Inside the "
        "body, `item` and `index` are the current item and its position."
    )
    data_schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["items", "body"],
        "properties": {
            "items": {**EXPRESSION, "description": "An expression giving the list to loop over."},
            "body": {
                "type": "object",
                "description": "An inline graph {nodes, edges}, or a workflow {workflow, version}.",
                "if": {"required": ["workflow"]},
                "then": {
                    "additionalProperties": False,
                    "properties": {
                        "workflow": WORKFLOW_REFERENCE,
                        "version": {"type": "integer", "minimum": 1},
                    },
                },
                "else": {
                    "additionalProperties": False,
                    "required": ["nodes"],
                    "properties": {
                        "nodes": {"type": "array", "minItems": 1, "items": {"type": "object"}},
                        "edges": {"type": "array", "items": {"type": "object"}},
                    },
                },
            },
            "concurrency": {
                "type": "integer",
                "minimum": 1,
                "maximum": 100,
                "default": 1,
                "description": "How many items run at once; 1 runs them in order.",
            },
        },
    }
    output_schema = {
        "type": "array",
        "description": "The body's output for each item, in item order.",
    }
    expression_fields = ("items",)
    graph_fields = ("body",)


class Subworkflow(NodeType):
    name = "Subworkflow"
    category = NodeCategory.CONTROL
    description = (
        "Start another workflow as a child execution and, by default, wait for it; the node's "
        "output is the child's output."
    )
    data_schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["workflow"],
        "properties": {
            "workflow": WORKFLOW_REFERENCE,
            "version": {
                "type": "integer",
                "minimum": 1,
                "description": "A pinned version; default: the current one when the node runs.",
            },
            "input": templated({
                "type": "object",
                "default": {},
                "description": "The child's input; strings may hold templates.",
            }),
            "wait": {
                "type": "boolean",
                "default": True,
                "description": "Wait for the child; false starts it and goes on at once.",
            },
        },
    }
    output_schema = {
        "description": "The child's output; with wait false, {execution_id} of the child.",
    }
    waits = True
