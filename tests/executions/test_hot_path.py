"""The cost of a node step, pinned: the statements one no-op step sends to the database.

Each step runs in this process (`services.node_run`), inside the test's transaction, so
Celery is only touched where a message would leave the machine: the publish of the
successor is replaced by a recorder.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any
from unittest import mock

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from executions import dispatch, services
from executions.models import NodeExecution
from executions.services.transitions import attempt_lease
from tests.engine import workflow_from
from workflows.nodes import NodeCategory, NodeType
from workflows.nodes.context import NodeContext

pytestmark = pytest.mark.django_db

# A completed no-op step with one successor (claim to successor dispatched) costs at most
# these statements on PostgreSQL (BEGIN/COMMIT and savepoints not counted; each of these
# is its own transaction):
#   claim:    1. the conditional claim UPDATE ... RETURNING the row (the execution still
#                running, its row locked in share mode), with the `node.running` log entry
#                and its outbox event inserted from it (data-modifying WITH queries), and
#                the execution, its version (definition left out) and workflow joined to
#                the claimed row in the final SELECT
#   run:      nothing (the data of a no-op node does not mention `nodes`)
#   complete: 2. the fenced completion UPDATE (this attempt still running, the execution's
#                row locked in share mode while checking it still runs), the
#                `node.completed` log entry and its outbox event (inserted only if the
#                completion updated the row), and the successor's conditional
#                `dispatched_at` UPDATE, whose rows are the successors made ready (their
#                only input is this node, so no node rows are read)
# A message without a time limit (the lease then comes from the plan) reads the execution
# before its claim: one more. Elsewhere (SQLite): the locked path, 12 (the claim alone is a
# read of the row, a check that the execution runs, the update and the re-read, then the
# log rows). See "Cost of a node step" in docs/engine.md.
# Raise it only with a reason written there.
STEP_STATEMENTS = 2 if connection.vendor == "postgresql" else 12

# The lease a node_run message of a node with the default timeout carries (its soft time
# limit), as executions.tasks.node_run passes it.
LEASE = attempt_lease(settings.WORKFLOW_NODE_TIMEOUT)

BOOKKEEPING = ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK")


def statements(captured: CaptureQueriesContext) -> list[str]:
    return [query["sql"] for query in captured.captured_queries
            if not query["sql"].upper().startswith(BOOKKEEPING)]


def chain(name: str, nodes: list[dict[str, Any]]) -> dict[str, Any]:
    return {"name": name, "namespace": "hot-path", "nodes": nodes,
            "edges": [{"source": a["id"], "target": b["id"]} for a, b in pairwise(nodes)]}


def noop(node_id: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"id": node_id, "type": "Transform", "data": data or {"template": 0}}


def step(execution: Any, node_id: str, lease: Any = LEASE) -> tuple[list[str], list[tuple]]:
    """Run one node here, as a message with the node's time limit would (`lease=None`:
    one without); the statements it sent and the messages it published."""
    published: list[tuple] = []
    with mock.patch.object(dispatch, "publish", side_effect=lambda messages: published.extend(
            message.args for message in messages if message.task == dispatch.NODE_RUN)), \
            CaptureQueriesContext(connection) as captured:
        from django.test import TestCase

        with TestCase.captureOnCommitCallbacks(execute=True):
            assert services.node_run(execution_id=str(execution.pk), node_id=node_id,
                                     lease=lease) is None
    return statements(captured), published


def test_a_no_op_step_costs_at_most_its_pinned_statements():
    # given a chain of three no-op nodes whose first node has completed
    flow = workflow_from(chain("pinned", [noop("a"), noop("b"), noop("c")]))
    execution, _ = services.execution_start(workflow=flow, input={})
    step(execution, "a")
    # when the middle node runs
    sql, published = step(execution, "b")
    # then it committed its output and dispatched its successor within the pinned cost
    assert len(sql) <= STEP_STATEMENTS, "\n".join(sql)
    assert published == [(str(execution.pk), "c")]
    rows = {row.node_id: row for row in execution.nodes.all()}
    assert rows["b"].status == "completed" and rows["b"].output == 0
    assert rows["c"].status == "pending" and rows["c"].dispatched_at is not None
    # and its log entries and outbox events were written with it
    assert execution.logs.filter(node_id="b").count() == 2
    events = {event.event: event.payload
              for event in execution.outbox_events.filter(payload__node="b")}
    assert sorted(events) == ["node.completed", "node.running"]
    assert events["node.running"]["workflow"] == str(flow.pk)
    assert events["node.running"]["attempt"] == 1


def test_a_message_without_a_time_limit_takes_its_lease_from_the_plan():
    # given a chain whose node b says its own timeout
    flow = workflow_from(chain("no-limit", [noop("a"), {**noop("b"), "timeout": 7}, noop("c")]))
    execution, _ = services.execution_start(workflow=flow, input={})
    step(execution, "a", lease=None)
    # when b's message carries no time limit
    sql, published = step(execution, "b", lease=None)
    # then it runs and sends c, reading the execution first (one statement more)
    assert published == [(str(execution.pk), "c")]
    assert len(sql) <= STEP_STATEMENTS + (1 if connection.vendor == "postgresql" else 0)
    b = execution.nodes.get(node_id="b")
    assert b.status == "completed"
    # and its lease was its own timeout plus the margins, not the default
    assert b.lease_expires_at - b.started_at == attempt_lease(7)


def test_a_step_writes_its_log_lines_with_its_completion():
    # given a chain whose first node writes a log line
    flow = workflow_from(chain("logs", [
        {"id": "a", "type": "Logger", "data": {"message": "hello {{ input.who }}",
                                               "level": "warning"}},
        noop("b"),
    ]))
    execution, _ = services.execution_start(workflow=flow, input={"who": "ops"})
    # when it runs
    _, published = step(execution, "a")
    # then its line, its completion and their events are stored, and b is sent
    assert published == [(str(execution.pk), "b")]
    entries = list(execution.logs.filter(node_id="a").order_by("id")
                   .values_list("event", "level", "message"))
    assert entries == [("node.running", "info", ""), ("node.message", "warning", "hello ops"),
                       ("node.completed", "info", "")]
    assert execution.outbox_events.filter(payload__node="a").count() == 3


def test_a_step_does_not_read_the_workflow_definition():
    flow = workflow_from(chain("no-definition", [noop("a"), noop("b")]))
    execution, _ = services.execution_start(workflow=flow, input={})
    sql, _ = step(execution, "a")
    assert not [statement for statement in sql if '"definition"' in statement], sql


def test_a_node_whose_templates_read_nodes_still_sees_them():
    # given b reads a's output through a template, and c through a JMESPath query that
    # applies to the whole scope (no `source`)
    flow = workflow_from(chain("reads-nodes", [
        noop("a", {"template": {"n": 4}}),
        noop("b", {"template": "{{ nodes.a.n * 2 }}"}),
        noop("c", {"jmespath": "nodes.b"}),
    ]))
    execution, _ = services.execution_start(workflow=flow, input={})
    for node_id in ("a", "b", "c"):
        step(execution, node_id)
    execution.refresh_from_db()
    assert execution.status == "completed", execution.error
    assert execution.output == {"c": 8}


def test_a_step_whose_successor_already_ran_does_not_send_it_again():
    # given a -> b where b has already completed (a's message is redelivered after a
    # crash between a's claim and its completion's commit)
    flow = workflow_from(chain("resent", [noop("a"), noop("b")]))
    execution, _ = services.execution_start(workflow=flow, input={})
    NodeExecution.objects.filter(execution=execution, node_id="b").update(status="completed")
    # when a completes
    _, published = step(execution, "a")
    # then b is not sent again
    assert published == []
    assert execution.nodes.get(node_id="a").status == "completed"


def test_a_fan_out_sends_every_successor_and_a_join_waits_for_all_its_inputs():
    # given a -> (b, c) -> d
    nodes = [noop("a"), noop("b"), noop("c"), noop("d")]
    edges = [("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")]
    flow = workflow_from({"name": "fan", "namespace": "hot-path", "nodes": nodes,
                          "edges": [{"source": s, "target": t} for s, t in edges]})
    execution, _ = services.execution_start(workflow=flow, input={})
    # when a runs, both successors are sent; after b only, the join is not
    assert sorted(step(execution, "a")[1]) == [(str(execution.pk), "b"), (str(execution.pk), "c")]
    sql, published = step(execution, "b")
    assert published == []
    # (an input of a plain join: the claim, then the completion locking the join's row
    # and the join's conditional stamp; no read of the node rows)
    assert len(sql) <= (3 if connection.vendor == "postgresql" else STEP_STATEMENTS + 2), sql
    # and after c, the join is sent once, then the execution completes with it
    assert step(execution, "c")[1] == [(str(execution.pk), "d")]
    step(execution, "d")
    execution.refresh_from_db()
    assert execution.status == "completed" and execution.output == {"d": 0}


def test_a_join_input_that_leaves_only_a_wait_settles_the_execution_to_waiting():
    # given a -> (b, c) -> d, where c waits for a person
    nodes = [noop("a"), noop("b"),
             {"id": "c", "type": "UserAction",
              "data": {"prompt": "Approve?", "assignee": "ops"}}, noop("d")]
    edges = [("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")]
    flow = workflow_from({"name": "join-wait", "namespace": "hot-path", "nodes": nodes,
                          "edges": [{"source": s, "target": t} for s, t in edges]})
    execution, _ = services.execution_start(workflow=flow, input={})
    step(execution, "a")
    # when c opens its wait and then b completes
    step(execution, "c")
    _, published = step(execution, "b")
    # then the join is not sent and the execution only waits now
    assert published == []
    execution.refresh_from_db()
    assert execution.status == "waiting"
    assert execution.nodes.get(node_id="d").status == "pending"


def test_a_join_with_a_skipped_input_runs_when_the_taken_branch_completes():
    # given a condition whose false branch is not taken, both branches joining in d
    nodes = [{"id": "a", "type": "Conditional", "data": {"expression": "1 == 1"}},
             noop("yes"), noop("no"), noop("d")]
    flow = workflow_from({"name": "join-skip", "namespace": "hot-path", "nodes": nodes, "edges": [
        {"source": "a", "target": "yes", "sourceHandle": "true"},
        {"source": "a", "target": "no", "sourceHandle": "false"},
        {"source": "yes", "target": "d"}, {"source": "no", "target": "d"}]})
    execution, _ = services.execution_start(workflow=flow, input={})
    assert step(execution, "a")[1] == [(str(execution.pk), "yes")]
    # when the taken branch completes, the join is sent (its other input was skipped)
    assert step(execution, "yes")[1] == [(str(execution.pk), "d")]
    step(execution, "d")
    execution.refresh_from_db()
    assert execution.status == "completed"
    assert execution.nodes.get(node_id="no").status == "skipped"


class PauseItsExecution(NodeType):
    """Pauses its own execution while it runs: a pause that lands between a claim and its
    completion, as a concurrent request's would."""

    name = "PauseItsExecution"
    category = NodeCategory.UTILITY
    description = "Test node: pauses its execution, returns 0."
    data_schema = {"type": "object"}
    output_schema = {"type": "integer"}

    def execute(self, context: NodeContext) -> Any:
        from executions.models import Execution

        services.execution_pause(execution=Execution.objects.get(pk=context.execution_id))
        return 0


@pytest.fixture
def pausing_type(settings):
    from workflows.nodes.registry import registry_reset

    settings.WORKFLOW_NODE_TYPES = [*settings.WORKFLOW_NODE_TYPES,
                                    f"{__name__}.PauseItsExecution"]
    registry_reset()
    yield
    registry_reset()


@pytest.mark.usefixtures("pausing_type")
def test_a_step_of_an_execution_paused_meanwhile_completes_but_sends_nothing():
    # given a -> b, where a pauses the execution while it runs
    flow = workflow_from(chain("paused", [{"id": "a", "type": "PauseItsExecution", "data": {}},
                                          noop("b")]))
    execution, _ = services.execution_start(workflow=flow, input={})
    # when a completes
    _, published = step(execution, "a")
    # then its output is kept and b waits for the resume
    assert published == []
    rows = {row.node_id: row for row in execution.nodes.all()}
    assert rows["a"].status == "completed" and rows["b"].status == "pending"
    # and the resume sends it
    with mock.patch.object(dispatch, "publish") as publish:
        from django.test import TestCase

        with TestCase.captureOnCommitCallbacks(execute=True):
            services.execution_resume(execution=execution)
    assert [(message.task, message.args) for call in publish.call_args_list
            for message in call.args[0]] == [(dispatch.NODE_RUN, (str(execution.pk), "b"))]


def test_a_step_of_a_loop_iteration_reads_the_loops_input_in_one_statement_more():
    # given a loop whose inline body reads the input, its first iteration started
    from executions.models import Execution

    flow = workflow_from(chain("iteration", [{"id": "each", "type": "Loop", "data": {
        "items": "input.items", "concurrency": 1,
        "body": {"nodes": [noop("a", {"template": "{{ input.tag }}-{{ item }}"}),
                           noop("b")],
                 "edges": [{"source": "a", "target": "b"}]}}}]))
    execution, _ = services.execution_start(workflow=flow, input={"items": [1, 2],
                                                                   "tag": "T"})
    step(execution, "each")
    iteration = Execution.objects.get(parent=execution, item_index=0)
    # when its body's first node runs
    sql, published = step(iteration, "a")
    # then it read the loop's input, with one statement more than any other step
    assert published == [(str(iteration.pk), "b")]
    assert iteration.nodes.get(node_id="a").output == "T-1"
    assert len(sql) <= STEP_STATEMENTS + 1, "\n".join(sql)


# Starting an admitted execution of a workflow nothing limits: the execution's INSERT
# (written running, its deadline set), its node rows' INSERT (the roots' with
# `dispatched_at`), and its `execution.pending` and `execution.running` log entries with
# their outbox events (one statement on PostgreSQL); the plan and the version are cached.
START_STATEMENTS = 3 if connection.vendor == "postgresql" else 4


def test_starting_an_execution_costs_its_pinned_statements_and_records_both_moves():
    flow = workflow_from(chain("start-pinned", [noop("a"), noop("b")]))
    services.execution_start(workflow=flow, input={})  # the caches are warm
    published: list[tuple] = []
    with mock.patch.object(dispatch, "publish", side_effect=lambda messages: published.extend(
            message.args for message in messages)), \
            CaptureQueriesContext(connection) as captured:
        from django.test import TestCase

        with TestCase.captureOnCommitCallbacks(execute=True):
            execution, created = services.execution_start(workflow=flow, input={})
    sql = statements(captured)
    assert created and len(sql) <= START_STATEMENTS, "\n".join(sql)
    assert published == [(str(execution.pk), "a")]
    execution.refresh_from_db()
    assert execution.status == "running" and execution.deadline is not None
    assert list(execution.logs.values_list("event", flat=True).order_by("id")) == [
        "execution.pending", "execution.running"]
    statuses = list(execution.outbox_events.order_by("id").values_list(
        "payload__execution_status", flat=True))
    assert statuses == ["pending", "running"]
