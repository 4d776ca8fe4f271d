"""The base class of node types: the metadata a type publishes and its lifecycle steps."""

from __future__ import annotations

import copy
from enum import StrEnum
from typing import Any, ClassVar


class NodeCategory(StrEnum):
    INTEGRATION = "integration"
    CONTROL = "control"
    DATA = "data"
    WAIT = "wait"
    UTILITY = "utility"


class NodeType:
    """A kind of node: what its `data` may hold, what it outputs, how it branches.

    A subclass sets the class attributes below and implements `execute`; the registry
    refuses a subclass whose metadata is missing. The engine creates an instance per node
    attempt and calls `preprocess`, `execute`, `postprocess` and, always, `finalize`; what
    `context` holds is the engine's contract.

    - `name`: the type name used in definitions, e.g. "HttpRequest".
    - `category`: one of `NodeCategory`.
    - `data_schema`: JSON Schema (Draft 2020-12) of the node's `data`.
    - `output_schema`: JSON Schema of the node's output.
    - `handles`: the branch handles an edge's `sourceHandle` may name; empty when the node
      does not branch.
    - `dynamic_handles`: when the handles depend on `data`, a sentence saying on what
      (`branch_handles` then computes them).
    - `waits`: the node waits (a bookmark) without holding a worker.
    - `expression_fields`: paths into `data` whose strings are expressions, not templates;
      `[*]` stands for every item of a list, e.g. "cases[*].expression".
    - `graph_fields`: keys of `data` that may hold an inline graph `{nodes, edges}` (a Loop
      body), validated like a workflow's graph with its own ids.
    - `secret_fields`: keys of `data` that carry credentials to where they are used (an
      HTTP header, a query parameter): only there does `{{ secrets.<name> }}` render to the
      secret's value. Anywhere else a secret is a validation fault naming the field.
    - `reads_outputs`: the type's code may read the outputs of finished nodes from
      `context.scope["nodes"]`, beyond what the templates of its `data` name. True unless
      a type says otherwise, since code may read the scope; a type that reads only its
      rendered `data` sets False, and the engine then loads those outputs (a query of the
      node rows) only for a node whose `data` mentions `nodes`. `outputs_read` decides it
      per node, for a type where it depends on `data`.
    - `pure`: an attempt has no effect outside its output, log lines and variables (no
      external call, no counter, no wait, no child), and its cost is bounded by the
      templates' limits: the engine may run it in the task of the node before it (a
      hand-on, docs/engine.md) instead of sending it as a task of its own.
    """

    name: ClassVar[str] = ""
    category: ClassVar[str] = ""
    description: ClassVar[str] = ""
    data_schema: ClassVar[dict[str, Any]] = {}
    output_schema: ClassVar[dict[str, Any]] = {}
    handles: ClassVar[tuple[str, ...]] = ()
    dynamic_handles: ClassVar[str] = ""
    waits: ClassVar[bool] = False
    expression_fields: ClassVar[tuple[str, ...]] = ()
    graph_fields: ClassVar[tuple[str, ...]] = ()
    secret_fields: ClassVar[tuple[str, ...]] = ()
    reads_outputs: ClassVar[bool] = True
    pure: ClassVar[bool] = False

    @classmethod
    def branch_handles(cls, data: dict[str, Any]) -> list[str]:
        """The handles a node of this type offers for its (schema-valid) `data`."""
        return list(cls.handles)

    @classmethod
    def outputs_read(cls, data: dict[str, Any]) -> bool:
        """Whether an attempt with this `data` reads the finished nodes' outputs in its code
        (`reads_outputs`, unless the type decides per node)."""
        return cls.reads_outputs

    @classmethod
    def validate_data(cls, data: dict[str, Any]) -> list[tuple[str, str]]:
        """Rules the JSON Schema cannot say, as (path in `data`, message) pairs.

        Called only for `data` that passed `data_schema`; the path is "" for `data` itself.
        """
        return []

    @classmethod
    def describe(cls) -> dict[str, Any]:
        """The type's metadata, as `/api/nodes/types` publishes it."""
        handles: dict[str, Any] = {
            "static": list(cls.handles),
            "dynamic": bool(cls.dynamic_handles),
        }
        if cls.dynamic_handles:
            handles["depends_on"] = cls.dynamic_handles
        return {
            "name": cls.name,
            "category": str(cls.category),
            "description": cls.description,
            "data_schema": copy.deepcopy(cls.data_schema),
            "output_schema": copy.deepcopy(cls.output_schema),
            "handles": handles,
            "waits": cls.waits,
            "expression_fields": list(cls.expression_fields),
            "secret_fields": list(cls.secret_fields),
        }

    def preprocess(self, context: Any) -> None:
        """Prepare an attempt: render the templates of `data` into `context.data`.

        Expression fields and inline graphs are left as written: `execute` evaluates the
        expressions itself, and a loop body runs later, per item.
        """
        unrendered = {path.split("[")[0].split(".")[0]
                      for path in (*self.expression_fields, *self.graph_fields)}
        context.data = {
            key: value if key in unrendered else context.render(
                value, path=f"data.{key}", reveal_secrets=key in self.secret_fields)
            for key, value in context.raw_data.items()
        }

    def execute(self, context: Any) -> Any:
        """Do the node's work and return its output."""
        raise NotImplementedError(
            f"Node type {type(self).__name__} does not implement execute(); "
            "every node type must."
        )

    def postprocess(self, context: Any, result: Any) -> Any:
        """Shape the output of `execute`; returns it unchanged by default."""
        return result

    @classmethod
    def on_resume(
        cls, request: dict[str, Any], payload: Any, *, by: str | None, timed_out: bool
    ) -> tuple[Any, str | None]:
        """The output and branch of a waiting node once its bookmark is resumed.

        `request` is what `execute` asked for (kept with the bookmark), `payload` what the
        resume brought, `by` who resumed it (None for a timer), `timed_out` whether the
        wait's timeout fired. Raise a ValidationFault to refuse the payload.
        """
        return payload, None

    def taken_branch(self, context: Any, output: Any) -> str | None:
        """The handle this run took, for a branching node; None when it does not branch."""
        return None

    def finalize(self, context: Any) -> None:
        """Release what the attempt held; runs after every attempt, also a failed one."""
