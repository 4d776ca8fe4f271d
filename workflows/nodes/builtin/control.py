"""Node types that shape the flow: branches, loops and child workflows."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from workflows.nodes.base import NodeCategory, NodeType
from workflows.nodes.context import NodeContext
from workflows.nodes.faults import ValidationFault
from workflows.nodes.fragments import VERSION_NUMBER, WORKFLOW_REFERENCE, templated

EXPRESSION = {
    "type": "string",
    "minLength": 1,
    "description": "A Jinja expression, bare or as one {{ expression }}.",
}
DEFAULT_CASE = "default"


class Conditional(NodeType):
    name = "Conditional"
    reads_outputs = False
    pure = True
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
    reads_outputs = False
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
                        "version": VERSION_NUMBER,
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

    def execute(self, context: NodeContext) -> Any:
        items = context.evaluate(context.raw_data["items"], path="data.items")
        if not isinstance(items, list | tuple):
            raise ValidationFault(
                f"Node '{context.node_id}' data.items must give a list, "
                f"not {type(items).__name__}."
            )
        if not items:
            return []
        limit = settings.WORKFLOW_LOOP_MAX_ITEMS
        if len(items) > limit:
            raise ValidationFault(
                f"Node '{context.node_id}' data.items gives {len(items)} items; a loop runs "
                f"at most {limit} (WORKFLOW_LOOP_MAX_ITEMS).",
                details={"count": len(items), "limit": limit},
            )
        request: dict[str, Any] = {
            "mode": "loop", "items": list(items), "count": len(items),
            "concurrency": int(context.raw_data.get("concurrency", 1)),
        }
        body = context.raw_data["body"]
        if "workflow" in body:
            workflow, version = _resolve(context, body["workflow"], body.get("version"),
                                         "data.body.workflow")
            request.update(body_workflow_id=str(workflow.pk), body_version=version)
        return context.wait("subworkflow", request=request)


class Subworkflow(NodeType):
    name = "Subworkflow"
    reads_outputs = False
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
                **VERSION_NUMBER,
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

    def execute(self, context: NodeContext) -> Any:
        workflow, version = _resolve(context, context.data["workflow"],
                                     context.data.get("version"), "data.workflow")
        child_input = context.data.get("input") or {}
        if not isinstance(child_input, dict):
            raise ValidationFault(f"Node '{context.node_id}' data.input must be an object.")
        return context.wait("subworkflow", request={
            "mode": "workflow", "workflow_id": str(workflow.pk), "version": version,
            "input": child_input, "detach": not context.data.get("wait", True),
        })


def _resolve(context: NodeContext, reference: str, version: int | None,
             field: str) -> tuple[Any, int]:
    """The workflow a reference names ("name" in this namespace, or "namespace/name") and
    the version to run (pinned, or its current one)."""
    from workflows.models import Workflow

    namespace, _, name = reference.rpartition("/")
    namespace = namespace or context.scope["execution"]["workflow"].split("/")[0]
    workflow = Workflow.objects.select_related("current_version").filter(
        namespace=namespace, name=name).first()
    if workflow is None or workflow.current_version is None:
        raise ValidationFault(
            f"Node '{context.node_id}' {field}: no workflow '{namespace}/{name}'.")
    number = version or workflow.current_version.number
    if not workflow.versions.filter(number=number).exists():
        raise ValidationFault(
            f"Node '{context.node_id}' {field}: '{namespace}/{name}' has no version {number}.")
    return workflow, number
