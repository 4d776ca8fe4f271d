"""Loops and subworkflows: child executions on real workers, reporting back to the parent."""

from __future__ import annotations

import pytest

from executions import services
from executions.models import Execution
from tests.engine import node_states, run, wait_for, workflow_from

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True),
              pytest.mark.usefixtures("worker", "test_node_types")]


def transform(node_id: str, template) -> dict:
    return {"id": node_id, "type": "Transform", "data": {"template": template}}


def flow(name: str, nodes: list[dict], edges: list[tuple] = (), **extra) -> dict:
    return {"name": name, "namespace": "children", "nodes": nodes,
            "edges": [{"source": s, "target": t} for s, t in edges], **extra}


def loop(concurrency: int, body: dict, items: str = "input.numbers") -> dict:
    return {"id": "each", "type": "Loop",
            "data": {"items": items, "concurrency": concurrency, "body": body}}


INLINE_BODY = {
    "nodes": [transform("square", {"n": "{{ item * item }}", "at": "{{ index }}"}),
              transform("label", "{{ nodes.square.at }}:{{ nodes.square.n }}")],
    "edges": [{"source": "square", "target": "label"}],
}


@pytest.mark.parametrize("concurrency", [1, 3])
def test_a_loop_runs_its_body_per_item_and_keeps_item_order(concurrency):
    # given a loop over five numbers, in order or three at a time
    definition = flow(f"loop-{concurrency}", [
        loop(concurrency, INLINE_BODY), transform("after", "{{ nodes.each | join(',') }}"),
    ], [("each", "after")])
    # when it runs
    execution = run(definition, {"numbers": [1, 2, 3, 4, 5]})
    # then every item ran once and the outputs come back in item order
    assert execution.status == "completed", execution.error
    assert execution.nodes.get(node_id="each").output == ["0:1", "1:4", "2:9", "3:16", "4:25"]
    assert execution.output == {"after": "0:1,1:4,2:9,3:16,4:25"}
    children = Execution.objects.filter(parent=execution)
    assert children.count() == 5
    assert sorted(children.values_list("item_index", flat=True)) == [0, 1, 2, 3, 4]
    assert set(children.values_list("status", flat=True)) == {"completed"}


def test_a_sequential_loop_runs_one_item_at_a_time():
    execution = run(flow("sequential", [loop(1, {"nodes": [
        {"id": "nap", "type": "Sleep", "data": {"seconds": 0.2}}]})]), {"numbers": [1, 2, 3]})
    assert execution.status == "completed"
    children = list(Execution.objects.filter(parent=execution).order_by("item_index"))
    for earlier, later in zip(children, children[1:], strict=False):
        assert later.started_at >= earlier.finished_at


def test_an_empty_list_gives_an_empty_output_without_children():
    execution = run(flow("empty", [loop(2, INLINE_BODY)]), {"numbers": []})
    assert execution.output == {"each": []}
    assert not Execution.objects.filter(parent=execution).exists()


def test_a_failing_iteration_fails_the_loop():
    body = {"nodes": [{"id": "check", "type": "Validator", "data": {
        "value": "{{ item }}", "schema": {"type": "integer", "maximum": 2}}}]}
    execution = run(flow("loop-fails", [loop(1, body)]), {"numbers": [1, 2, 3, 4]})
    assert execution.status == "failed"
    failed = execution.nodes.get(node_id="each")
    assert failed.error["fault"] == "external"
    # the failed node has ended (the monitor's timeline draws its bar to there)
    assert failed.finished_at is not None and failed.finished_at >= failed.started_at
    statuses = dict(Execution.objects.filter(parent=execution).values_list(
        "item_index", "status"))
    assert statuses[2] == "failed" and 3 not in statuses  # the fourth item never started


def test_items_that_are_not_a_list_fail_the_node():
    execution = run(flow("not-a-list", [loop(1, INLINE_BODY, items="input.numbers")]),
                    {"numbers": 5})
    assert execution.status == "failed"
    assert execution.nodes.get(node_id="each").error["fault"] == "validation"


def test_a_loop_body_can_be_another_workflow():
    workflow_from(flow("double", [transform("twice", "{{ item * 2 }}")]))
    execution = run(flow("loop-workflow", [loop(2, {"workflow": "double"})]),
                    {"numbers": [5, 6]})
    assert execution.status == "completed", execution.error
    assert execution.output == {"each": [{"twice": 10}, {"twice": 12}]}


def test_a_subworkflow_runs_as_a_child_and_the_parent_waits_for_its_output():
    workflow_from(flow("child", [transform("reply", "hello {{ input.who }}")]))
    execution = run(flow("parent", [
        {"id": "call", "type": "Subworkflow",
         "data": {"workflow": "children/child", "input": {"who": "{{ input.name }}"}}},
        transform("after", "{{ nodes.call.reply }}!"),
    ], [("call", "after")]), {"name": "ada"})
    assert execution.status == "completed", execution.error
    assert execution.output == {"after": "hello ada!"}
    child = Execution.objects.get(parent=execution)
    assert child.trigger == "subworkflow" and child.input == {"who": "ada"}


def test_a_subworkflow_without_wait_goes_on_at_once():
    workflow_from(flow("slow-child", [{"id": "nap", "type": "Sleep", "data": {"seconds": 1}}]))
    execution = run(flow("fire-and-forget", [
        {"id": "call", "type": "Subworkflow", "data": {"workflow": "slow-child", "wait": False}},
    ]))
    assert execution.status == "completed"
    child = Execution.objects.get(parent=execution)
    assert execution.output == {"call": {"execution_id": str(child.pk)}}
    assert wait_for(child).status == "completed"


def test_an_unknown_subworkflow_fails_the_node_by_name():
    execution = run(flow("missing-child", [
        {"id": "call", "type": "Subworkflow", "data": {"workflow": "nope"}}]))
    assert execution.status == "failed"
    assert "children/nope" in execution.nodes.get(node_id="call").error["message"]


def test_cancelling_the_parent_cancels_its_children():
    workflow_from(flow("waiting-child", [{"id": "ask", "type": "UserAction",
                                          "data": {"assignee": "x", "prompt": "?"}}]))
    parent, _ = services.execution_start(workflow=workflow_from(flow("cancel-parent", [
        {"id": "call", "type": "Subworkflow", "data": {"workflow": "waiting-child"}}])),
        input={})
    parent = wait_for(parent, statuses=("waiting",))
    child = Execution.objects.get(parent=parent)
    wait_for(child, statuses=("waiting",))
    services.execution_cancel(execution=parent)
    assert wait_for(child).status == "cancelled"
    assert node_states(wait_for(parent)) == {"call": "cancelled"}


def calls(node_id: str, workflow: str, wait: bool = True) -> dict:
    return {"id": node_id, "type": "Subworkflow", "data": {"workflow": workflow, "wait": wait}}


def ask(node_id: str = "ask") -> dict:
    return {"id": node_id, "type": "UserAction", "data": {"assignee": "x", "prompt": "?"}}


@pytest.mark.parametrize(("node", "named"), [
    (calls("again", "recursive"), "again"),
    (calls("again", "children/recursive", wait=False), "again"),
    (loop(1, {"workflow": "recursive"}), "each"),
    (loop(1, {"nodes": [calls("again", "recursive")]}), "each/again"),
])
def test_a_workflow_that_starts_itself_is_refused_with_a_problem_on_its_node(node, named):
    # given a definition whose node starts the workflow being defined
    from workflows.errors import DefinitionInvalidError

    # when it is created
    with pytest.raises(DefinitionInvalidError) as refused:
        workflow_from(flow("recursive", [node]))
    # then the problem names the node that starts it
    [problem] = refused.value.details["errors"]
    assert problem["code"] == "self_reference"
    assert problem["node"] == named
    assert "children/recursive" in problem["message"]


def test_recursion_through_another_workflow_stops_at_the_depth_limit():
    # given A, which starts B and waits for it, and B, which starts A
    workflow_from(flow("ping", [calls("call", "pong")]))
    workflow_from(flow("pong", [calls("call", "ping")]))
    # when A runs
    execution = run(flow("serve", [calls("call", "ping")]))
    # then the chain stops at the depth limit (10) with a fault naming the node, and every
    # execution of it fails
    assert execution.status == "failed"
    tree = Execution.objects.filter(root=execution)
    assert sorted(tree.values_list("depth", flat=True)) == list(range(1, 11))
    deepest = tree.get(depth=10)
    error = deepest.nodes.get(node_id="call").error
    assert error["fault"] == "validation" and "Node 'call'" in error["message"]
    assert "WORKFLOW_MAX_DEPTH" in error["message"]
    assert set(tree.values_list("status", flat=True)) == {"failed"}
    # and each child knows its parent, its root and its depth
    for child in tree:
        assert child.depth == child.parent.depth + 1
        assert child.root_id == execution.pk


def test_detached_recursion_stops_at_the_depth_limit():
    # given A and B that start each other without waiting
    workflow_from(flow("fire-ping", [calls("call", "fire-pong", wait=False)]))
    workflow_from(flow("fire-pong", [calls("call", "fire-ping", wait=False)]))
    # when A runs
    execution = run(flow("fire-serve", [calls("call", "fire-ping", wait=False)]))
    # then ten generations run, no more: the deepest fails on its Subworkflow node
    tree = Execution.objects.filter(root=execution)
    deepest = wait_for(_appeared(execution, 10))
    assert deepest.status == "failed"
    assert "WORKFLOW_MAX_DEPTH" in deepest.nodes.get(node_id="call").error["message"]
    for child in tree:
        wait_for(child)
    assert tree.count() == 10


def test_cancelling_a_finished_root_cancels_its_detached_descendants(client_for, operator):
    # given a root that started a child without waiting, which did the same; the
    # grandchild still waits for a person, while the root and the child have completed
    workflow_from(flow("asks", [ask()]))
    workflow_from(flow("forwards", [calls("call", "asks", wait=False)]))
    root = run(flow("fires", [calls("call", "forwards", wait=False)]))
    assert root.status == "completed"
    grandchild = wait_for(_appeared(root, 2), statuses=("waiting",))
    # when the root is cancelled over the API
    answer = client_for(operator).post(f"/api/executions/{root.pk}/cancel")
    # then the cancel succeeds, the grandchild is cancelled, the root stays completed
    assert answer.status_code == 202, answer.json()
    assert wait_for(grandchild).status == "cancelled"
    root.refresh_from_db()
    assert root.status == "completed"
    # and a second cancel has nothing left to cancel
    assert client_for(operator).post(f"/api/executions/{root.pk}/cancel").status_code == 409


def test_cancelling_a_running_root_reaches_past_a_finished_child():
    # given a root waiting for a person, whose finished child left a grandchild running
    workflow_from(flow("asks-too", [ask()]))
    workflow_from(flow("forwards-too", [calls("call", "asks-too", wait=False)]))
    root, _ = services.execution_start(workflow=workflow_from(flow("waits-and-fires", [
        calls("call", "forwards-too", wait=False), ask("hold")])), input={})
    grandchild = wait_for(_appeared(root, 2), statuses=("waiting",))
    # when the root is cancelled
    services.execution_cancel(execution=root)
    # then every descendant still going is cancelled
    assert wait_for(grandchild).status == "cancelled"
    assert wait_for(root).status == "cancelled"


def _appeared(root: Execution, depth: int, timeout: float = 30) -> Execution:
    import time

    deadline = time.monotonic() + timeout
    while not Execution.objects.filter(root=root, depth=depth).exists():
        assert time.monotonic() < deadline, f"no execution at depth {depth}"
        time.sleep(0.05)
    return Execution.objects.get(root=root, depth=depth)


def test_an_execution_starts_at_most_the_children_limit():
    # given two loops side by side, of 6,000 items each, whose iterations wait for a
    # person (so that neither goes past its first item)
    hold = loop(1, {"nodes": [ask()]}, items="{{ range(6000) | list }}")
    more = {**hold, "id": "more"}
    execution, _ = services.execution_start(
        workflow=workflow_from(flow("too-many", [hold, more])), input={})
    # when they run, then the one that comes second fails by name: 12,000 children
    # exceed the 10,000 one execution may start
    execution = wait_for(execution)
    assert execution.status == "failed"
    [refused] = execution.nodes.filter(error__isnull=False).exclude(status="cancelled")
    error = refused.error
    assert error["fault"] == "validation" and f"Node '{refused.node_id}'" in error["message"]
    assert "WORKFLOW_MAX_CHILDREN" in error["message"]
    assert error["details"] == {"count": 6000, "total": 12000, "limit": 10000}
    assert not Execution.objects.filter(parent=execution, parent_node=refused.node_id).exists()
    assert set(Execution.objects.filter(parent=execution).values_list(
        "status", flat=True)) == {"cancelled"}


def test_a_loop_over_more_items_than_the_limit_fails_by_name_before_any_child():
    # given a loop over a list longer than WORKFLOW_LOOP_MAX_ITEMS (10,000), built by range
    execution = run(flow("huge", [loop(5, INLINE_BODY, items="{{ range(10001) | list }}")]))
    # then its node fails naming it and the count, and no iteration started
    assert execution.status == "failed"
    error = execution.nodes.get(node_id="each").error
    assert error["fault"] == "validation"
    assert "Node 'each'" in error["message"] and "10001" in error["message"]
    assert error["details"] == {"count": 10001, "limit": 10000}
    assert not Execution.objects.filter(parent=execution).exists()


def _answer_iteration(parent: Execution, index: int) -> None:
    """A person answers the wait of the loop's iteration `index`."""
    from executions.models import Bookmark
    from executions.services.waits import bookmark_resume

    child = _iteration(parent, index)
    wait_for(child, statuses=("waiting",))
    bookmark_resume(bookmark=Bookmark.objects.get(execution=child, status="open"),
                             payload={"payload": {"n": index}}, by="x")


def _iteration(parent: Execution, index: int, timeout: float = 30) -> Execution:
    import time

    deadline = time.monotonic() + timeout
    while not Execution.objects.filter(parent=parent, item_index=index).exists():
        assert time.monotonic() < deadline, f"iteration {index} did not start"
        time.sleep(0.05)
    return Execution.objects.get(parent=parent, item_index=index)


def test_a_loops_progress_is_in_its_iterations_rows_and_shown_in_the_detail(
        client_for, viewer):
    # given a loop over three items, one at a time, whose body waits for a person
    body = {"nodes": [{"id": "ask", "type": "UserAction",
                       "data": {"assignee": "x", "prompt": "item {{ item }}?"}}]}
    parent, _ = services.execution_start(workflow=workflow_from(flow("progress", [
        loop(1, body, items="input.numbers")])), input={"numbers": ["a", "b", "c"]})
    from executions.models import Bookmark

    parent = wait_for(parent, statuses=("waiting",))
    wait_for(_iteration(parent, 0), statuses=("waiting",))
    loop_wait = Bookmark.objects.get(execution=parent, node_id="each")
    # when the first iteration completes and the second starts
    _answer_iteration(parent, 0)
    wait_for(_iteration(parent, 1), statuses=("waiting",))
    # then the loop's wait record was not rewritten with the progress: it is counted in
    # two numbers, the per-item state being the iterations' own rows
    loop_wait_after = Bookmark.objects.get(pk=loop_wait.pk)
    assert loop_wait_after.request == loop_wait.request
    assert (loop_wait_after.children_started, loop_wait_after.children_completed) == (2, 1)
    # and the execution's detail shows the loop's iterations: how many, in which status,
    # and where to list them with their node runs
    client = client_for(viewer)
    detail = client.get(f"/api/executions/{parent.pk}").json()
    [entry] = [node for node in detail["nodes"] if node["node_id"] == "each"]
    assert entry["children"] == {
        "total": 3, "started": 2, "statuses": {"completed": 1, "waiting": 1},
        "url": f"/api/executions/{parent.pk}/children?node=each"}
    listed = client.get(entry["children"]["url"]).json()
    assert listed["count"] == 2
    unread = client.get(f"{entry['children']['url']}&item=0")
    assert unread.status_code == 400 and list(unread.json()["details"]["fields"]) == ["item"]
    first, second = listed["results"]
    assert (first["item_index"], first["item"], first["status"]) == (0, "a", "completed")
    assert (second["item_index"], second["item"], second["status"]) == (1, "b", "waiting")
    assert [(n["node_id"], n["status"]) for n in first["nodes"]] == [("ask", "completed")]
    assert first["nodes"][0]["output"]["response"] == {"n": 0}
    assert [(n["node_id"], n["status"]) for n in second["nodes"]] == [("ask", "waiting")]
    child = client.get(f"/api/executions/{first['id']}").json()
    assert (child["parent"], child["parent_node"], child["item_index"], child["depth"],
            child["root"]) == (str(parent.pk), "each", 0, 1, str(parent.pk))
    # and once every iteration completes, the loop's output is the outputs in item order
    _answer_iteration(parent, 1)
    _answer_iteration(parent, 2)
    parent = wait_for(parent)
    assert parent.status == "completed", parent.error
    assert [out["response"] for out in parent.output["each"]] == [
        {"n": 0}, {"n": 1}, {"n": 2}]


def test_a_tree_that_fans_out_at_every_level_stops_at_the_descendants_limit():
    # given a root whose ten iterations at once each start a workflow looping over
    # 10,000 items (each loop's first item waits for a person): within the depth and the
    # per-execution limits, but 100,020 executions for the tree
    workflow_from(flow("wide", [loop(1, {"nodes": [ask()]},
                                     items="{{ range(10000) | list }}")]))
    root, _ = services.execution_start(workflow=workflow_from(flow("fans-out", [
        loop(10, {"nodes": [calls("call", "wide")]}, items="{{ range(10) | list }}")])),
        input={})
    # when it runs, then the wide loop that would pass 100,000 fails by name, and with it
    # the root, whose whole tree is cancelled
    root = wait_for(root)
    assert root.status == "failed"
    from executions.models import NodeExecution

    refused = [row.error for row in NodeExecution.objects.filter(
        execution__root=root, node_id="each", status="failed")
        if "WORKFLOW_MAX_DESCENDANTS" in (row.error or {}).get("message", "")]
    assert len(refused) == 1 and refused[0]["fault"] == "validation"
    assert refused[0]["details"] == {"count": 10000, "limit": 100000}
    tree = Execution.objects.filter(root=root)
    for execution in tree:
        wait_for(execution)
    assert tree.filter(depth=2).count() == 10
    assert not tree.exclude(status__in=("failed", "cancelled")).exists()


def test_loop_iterations_read_the_loops_input_without_storing_a_copy(client_for, viewer):
    # given a workflow whose input is large-ish, looping over its items with an inline
    # body that nests another loop, and with a body that is another workflow, every body
    # reading `input`
    workflow_from(flow("tagged", [transform("tagged", "{{ input.tag }}/{{ item }}")]))
    inner = {"nodes": [transform("pair", "{{ input.tag }}:{{ item }}")]}
    outer = {"nodes": [
        transform("label", "{{ input.tag }}-{{ item }}"),
        {"id": "inner", "type": "Loop",
         "data": {"items": "input.inner", "concurrency": 2, "body": inner}},
    ]}
    definition = flow("no-copies", [
        loop(3, outer),
        {"id": "other", "type": "Loop",
         "data": {"items": "input.numbers", "concurrency": 3, "body": {"workflow": "tagged"}}},
    ])
    blob = "x" * 50_000
    numbers = list(range(6))
    # when it runs
    execution = run(definition, {"numbers": numbers, "inner": ["p", "q"], "tag": "T",
                                 "blob": blob})
    # then every iteration's templates read the input, nested loops and bodies too
    assert execution.status == "completed", execution.error
    assert execution.output["other"] == [{"tagged": f"T/{n}"} for n in numbers]
    assert execution.output["each"] == [
        {"label": f"T-{n}", "inner": ["T:p", "T:q"]} for n in numbers]
    # and the input was stored once: no iteration holds a copy
    iterations = Execution.objects.filter(root=execution)
    assert iterations.count() == 6 + 6 * 2 + 6
    assert all(stored in ({}, None) for stored in iterations.values_list("input", flat=True))
    # and an iteration's detail shows the input it ran with, and whose it is
    nested = iterations.filter(depth=2).first()
    client = client_for(viewer)
    detail = client.get(f"/api/executions/{nested.pk}").json()
    assert detail["input"]["blob"] == blob
    assert detail["input_from"] == str(nested.parent_id)
    listed = client.get(f"/api/executions/{execution.pk}").json()
    assert listed["input_from"] is None and listed["input"]["tag"] == "T"


def test_a_loops_wait_is_shown_without_its_items(client_for, viewer, user_factory):
    # given a loop over 300 items, one at a time, whose first iteration waits for a person
    from django.contrib.auth.models import Group
    from django.test import Client

    from executions.models import Bookmark

    body = {"nodes": [{"id": "ask", "type": "UserAction",
                       "data": {"assignee": "x", "prompt": "item {{ item }}?"}}]}
    items = [f"item-{n:04d}" for n in range(300)]
    parent, _ = services.execution_start(workflow=workflow_from(flow("light-waits", [
        loop(1, body, items="input.numbers")])), input={"numbers": items})
    parent = wait_for(parent, statuses=("waiting",))
    loop_wait = Bookmark.objects.get(execution=parent, node_id="each")
    # when a reader lists the waits and opens the loop's
    client = client_for(viewer)
    listed = client.get(f"/api/bookmarks?execution={parent.pk}")
    detail = client.get(f"/api/bookmarks/{loop_wait.pk}")
    # then the loop's request gives the count of its items, not the items
    [shown] = listed.json()["results"]
    for request in (shown["request"], detail.json()["request"]):
        assert "items" not in request
        assert request["count"] == 300 and request["mode"] == "loop"
    assert "item-0150" not in listed.content.decode() + detail.content.decode()
    # and so does its admin page, and the admin's list of waits
    operator = user_factory(username="ops-light", is_staff=True)
    operator.groups.add(Group.objects.get_or_create(name="workflow-operators")[0])
    admin = Client()
    admin.force_login(operator)
    page = admin.get(f"/admin/executions/bookmark/{loop_wait.pk}/change/")
    assert page.status_code == 200
    assert "item-0150" not in page.content.decode()
    assert "&quot;count&quot;: 300" in page.content.decode()
    assert admin.get("/admin/executions/bookmark/").status_code == 200
