"""What a node attempt sees: its data, the template scope, and ways to log and set variables."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from workflows.nodes.faults import ValidationFault
from workflows.nodes.secrets import SecretsView
from workflows.templating import TemplateRenderError, evaluate, render, render_budget


@dataclass(frozen=True)
class WaitRequest:
    """Returned by `execute` of a waiting node: leave a bookmark and free the worker.

    `kind` is timer, user_action, message or webhook; `due_at` is when a timer fires (for
    the others, their timeout); `on_due` says what happens then: `resume` the node (a
    timer, or a UserAction's timeout outcome) or `fail` it with a timeout fault. `request`
    is what the node asks (prompt, form, outcomes...), kept with the bookmark.
    """

    kind: str
    due_at: datetime | None = None
    key: str = ""
    assignee: str = ""
    request: dict[str, Any] = field(default_factory=dict)
    on_due: str = "resume"


@dataclass
class NodeContext:
    """One attempt of one node. The engine builds it; the node type's lifecycle uses it.

    `raw_data` is the node's `data` as written in the definition; `preprocess` sets `data`
    to the rendered form. `scope` is the template context: `input`, `nodes`, `vars`,
    `execution` (and `item`, `index` inside a loop), and `secrets`: the attempt's one
    reader of secrets (`secrets` here too), whose values the engine redacts.
    """

    execution_id: str
    node_id: str
    node_type: str
    attempt: int
    raw_data: dict[str, Any]
    scope: dict[str, Any]
    data: dict[str, Any] = field(default_factory=dict)
    variables: dict[str, Any] = field(default_factory=dict)
    messages: list[dict[str, Any]] = field(default_factory=list)
    iteration: str = ""
    run_external: Callable[..., dict[str, Any]] | None = None
    # the engine's counter store (executions/services/counters.py)
    run_counter_add: Callable[..., int] | None = None
    secrets: SecretsView = field(default_factory=SecretsView)
    # what the attempt's renders may still produce: its data is held to the limit as a whole
    rendered: list[int] = field(default_factory=render_budget, init=False, repr=False)

    def __post_init__(self) -> None:
        self.scope = {**self.scope, "secrets": self.secrets}

    @property
    def idempotency_key(self) -> str:
        """Stable for this node run across attempts and redeliveries; sent to peers."""
        key = f"{self.execution_id}:{self.node_id}"
        return f"{key}:{self.iteration}" if self.iteration else key

    def external_call(
        self, request: dict[str, Any], perform: Callable[[str], dict[str, Any]]
    ) -> dict[str, Any]:
        """Make a side effect at most once per node run, in two phases.

        The intent (with `idempotency_key`) is committed before `perform(key)` runs and its
        JSON result after. A later attempt of the same node run that finds the call
        completed gets the stored result and does not call again; one that finds only the
        intent calls again with the same key, for the peer to recognise.
        """
        if self.run_external is None:
            return perform(self.idempotency_key)
        return self.run_external(self, request, perform)

    def counter_add(self, name: str, increment: int, *, per_workflow: bool) -> int:
        """Add `increment` to the named counter (this workflow's, or the global one) and
        return its new value, atomically across workers."""
        if self.run_counter_add is None:
            raise RuntimeError("This context has no counter store (the engine sets one).")
        return self.run_counter_add(self, name, increment, per_workflow=per_workflow)

    def render(self, value: Any, *, path: str = "data", reveal_secrets: bool = False) -> Any:
        """Render templates in a value; a failure is a validation fault naming the field.

        `reveal_secrets`: the field is secret-bearing, a `{{ secrets.<name> }}` placed in it
        becomes the secret's value; anywhere else a secret is refused."""
        try:
            return render(value, self.scope, path=path, reveal_secrets=reveal_secrets,
                          budget=self.rendered)
        except TemplateRenderError as exc:
            raise ValidationFault(f"Node '{self.node_id}': {exc}") from None

    def evaluate(self, expression: Any, *, path: str = "data") -> Any:
        """Evaluate an expression field; non-strings are taken as already evaluated."""
        if not isinstance(expression, str):
            return expression
        try:
            return evaluate(expression, self.scope, budget=self.rendered)
        except TemplateRenderError as exc:
            raise ValidationFault(f"Node '{self.node_id}' {path}: {exc}") from None

    def secret(self, name: str, *, field: str) -> str:
        """The value of the secret `data.<field>` names, for the node to use as a credential;
        the engine redacts it wherever it would be stored or logged."""
        try:
            return self.secrets.value(name)
        except KeyError:
            raise ValidationFault(
                f"Node '{self.node_id}' data.{field}: there is no secret named '{name}'.",
                details={"field": f"data.{field}", "secret": name}) from None

    def log(self, level: str, message: str, **data: Any) -> None:
        """Write a line to the execution log (committed with the node's completion)."""
        self.messages.append({"level": level, "message": message, "data": data or None})

    def wait(self, kind: str, **options: Any) -> WaitRequest:
        """The value a waiting node returns from `execute` (see WaitRequest)."""
        return WaitRequest(kind=kind, **options)

    def set_variables(self, values: dict[str, Any]) -> None:
        """Set execution variables, visible as `vars.<name>` to the nodes that follow."""
        self.variables.update(values)
