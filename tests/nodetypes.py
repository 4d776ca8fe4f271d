"""Node types for tests only, registered through WORKFLOW_NODE_TYPES like a user's own."""

from __future__ import annotations

import time
from typing import Any

from workflows.nodes import NodeCategory, NodeType
from workflows.nodes.context import NodeContext
from workflows.nodes.faults import TransientFault


class Flaky(NodeType):
    """Fails with a transient fault on its first `fail_times` runs, then succeeds.

    Runs are counted in the database, so the count carries over a retry of the execution.
    """

    name = "Flaky"
    category = NodeCategory.UTILITY
    description = "Test node: transient failures, then success."
    data_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {"fail_times": {"type": "integer", "minimum": 0}},
    }
    output_schema = {"type": "object"}

    def execute(self, context: NodeContext) -> Any:
        from django.db.models import F

        from executions.models import Counter

        name = f"{context.execution_id}:{context.node_id}"
        counter, _ = Counter.objects.get_or_create(scope="tests.flaky", name=name)
        Counter.objects.filter(pk=counter.pk).update(value=F("value") + 1)
        runs = Counter.objects.get(pk=counter.pk).value
        if runs <= context.data.get("fail_times", 0):
            raise TransientFault(f"run {runs} fails on purpose")
        return {"attempt": context.attempt}


class Sleep(NodeType):
    """Sleeps for `seconds`: a node that is still running when the test acts."""

    name = "Sleep"
    category = NodeCategory.UTILITY
    description = "Test node: sleeps."
    data_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {"seconds": {"type": "number", "minimum": 0}},
    }
    output_schema = {"type": "object"}

    def execute(self, context: NodeContext) -> Any:
        time.sleep(context.data.get("seconds", 1))
        return {"slept": context.data.get("seconds", 1)}


class NotJson(NodeType):
    """Returns an output the database cannot hold as JSON (`data.kind`: a set, a NaN, a text
    with a NUL): a defect of a node type the engine must survive."""

    name = "NotJson"
    category = NodeCategory.UTILITY
    description = "Test node: returns a set, a NaN or a NUL."
    data_schema = {"type": "object", "properties": {"kind": {"enum": ["set", "nan", "nul"]}}}
    output_schema = {"type": "object"}

    def execute(self, context: NodeContext) -> Any:
        return {"set": {"values": {1, 2}}, "nan": {"value": float("nan")},
                "nul": {"text": "a\x00b"}}[context.data.get("kind", "set")]


class Careless(NodeType):
    """Reads the secret its data names and raises an exception quoting it: a defect of a
    node type whose log line must not carry the credential."""

    name = "Careless"
    category = NodeCategory.UTILITY
    description = "Test node: raises with its secret in the message."
    data_schema = {"type": "object", "properties": {"secret": {"type": "string"}}}
    output_schema = {"type": "object"}

    def execute(self, context: NodeContext) -> Any:
        value = context.secret(context.data["secret"], field="secret")
        raise RuntimeError(f"could not log in with {value}")


class Upstream(NodeType):
    """Returns the ids of the finished nodes its code finds in the scope (its data names
    none): a type that reads the outputs in code, as a user's own type may."""

    name = "Upstream"
    category = NodeCategory.UTILITY
    description = "Test node: lists the finished nodes it sees."
    data_schema = {"type": "object"}
    output_schema = {"type": "array"}

    def execute(self, context: NodeContext) -> Any:
        return sorted(context.scope["nodes"])


TEST_NODE_TYPES = ("tests.nodetypes.Flaky,tests.nodetypes.Sleep,tests.nodetypes.NotJson,"
                   "tests.nodetypes.Careless,tests.nodetypes.Upstream")
