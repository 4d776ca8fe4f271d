"""Waiting nodes on real workers: delays, approvals, messages, hooks, timeouts, cancel."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Group

from executions import services
from executions.models import Bookmark
from executions.services import waits
from tests.engine import node_states, wait_for, workflow_from

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True),
              pytest.mark.usefixtures("worker")]


def transform(node_id: str, template: Any) -> dict[str, Any]:
    return {"id": node_id, "type": "Transform", "data": {"template": template}}


def start(name: str, nodes: list[dict], edges: list[tuple], input=None, **extra):  # noqa: A002
    definition = {
        "name": name, "namespace": "waits", "nodes": nodes,
        "edges": [{"source": s, "target": t, **({"sourceHandle": h[0]} if h else {})}
                  for s, t, *h in edges],
        **extra,
    }
    execution, _ = services.execution_start(workflow=workflow_from(definition),
                                            input=input or {})
    return execution


def waiting(execution):
    return wait_for(execution, statuses=("waiting", "failed", "completed"))


def fire_timers_after(seconds: float) -> None:
    """What beat does every second, driven from the test once the time has come."""
    time.sleep(seconds)
    waits.timers_fire()


APPROVAL = {
    "id": "approve", "type": "UserAction",
    "data": {"assignee": "role:manager", "prompt": "Approve order {{ input.order }}?",
             "outcomes": ["approved", "rejected"],
             "form": {"type": "object", "properties": {"comment": {"type": "string"}}}},
}


def test_a_delay_waits_without_a_worker_and_a_timer_resumes_it():
    # given a delay of half a second between two nodes
    execution = start("delay", [
        transform("before", 1),
        {"id": "pause", "type": "Delay", "data": {"seconds": 0.5}},
        transform("after", "{{ nodes.pause.waited_until }}"),
    ], [("before", "pause"), ("pause", "after")])
    # when it reaches the delay
    execution = waiting(execution)
    # then it waits on a timer bookmark, holding no task
    assert execution.status == "waiting"
    bookmark = Bookmark.objects.get(execution=execution)
    assert bookmark.kind == "timer" and bookmark.due_at is not None
    assert node_states(execution)["pause"] == "waiting"
    # and once the timer fires the rest runs
    fire_timers_after(0.6)
    execution = wait_for(execution)
    assert execution.status == "completed", execution.error
    assert execution.output == {"after": bookmark.request["waited_until"]}


def test_a_delay_already_past_does_not_wait():
    execution = start("past", [
        {"id": "pause", "type": "Delay", "data": {"until": "2001-01-01T00:00:00+00:00"}},
    ], [])
    execution = wait_for(execution)
    assert execution.status == "completed"
    assert not Bookmark.objects.filter(execution=execution).exists()


def test_an_approval_is_listed_for_the_role_and_its_outcome_picks_the_branch(
    client_for, user_factory
):
    # given an approval assigned to role:manager before two branches
    manager = user_factory(username="boss")
    manager.groups.add(Group.objects.create(name="manager"))
    execution = waiting(start("approval", [
        APPROVAL, transform("ship", "shipped"), transform("refund", "refunded"),
    ], [("approve", "ship", "approved"), ("approve", "refund", "rejected")], {"order": 7}))
    assert execution.status == "waiting"
    client = client_for(manager)
    # when the manager lists their tasks
    mine = client.get("/api/bookmarks", {"mine": "true"}).json()["results"]
    # then the approval is there with its rendered prompt
    [task] = mine
    assert task["kind"] == "user_action" and task["request"]["prompt"] == "Approve order 7?"
    assert task["request"]["outcomes"] == ["approved", "rejected"]
    # and an unknown outcome is refused, naming the field, leaving the task open
    refused = client.post(f"/api/bookmarks/{task['id']}/resume", {"outcome": "maybe"},
                          format="json")
    assert refused.status_code == 400 and "outcome" in refused.json()["details"]["fields"]
    # and a form that is not filled correctly is refused too
    bad_form = client.post(f"/api/bookmarks/{task['id']}/resume",
                           {"outcome": "approved", "payload": {"comment": 5}}, format="json")
    assert bad_form.status_code == 400
    # when the manager approves
    response = client.post(f"/api/bookmarks/{task['id']}/resume",
                           {"outcome": "approved", "payload": {"comment": "ok"}}, format="json")
    assert response.status_code == 200, response.json()
    # then the approved branch runs and the other is skipped
    execution = wait_for(execution)
    assert execution.status == "completed"
    assert execution.output == {"ship": "shipped"}
    assert node_states(execution)["refund"] == "skipped"
    approve = execution.nodes.get(node_id="approve")
    assert approve.output == {"outcome": "approved", "response": {"comment": "ok"}, "by": "boss"}
    # and resuming again is a conflict
    again = client.post(f"/api/bookmarks/{task['id']}/resume", {"outcome": "approved"},
                        format="json")
    assert again.status_code == 409 and again.json()["code"] == "bookmark_closed"


def test_someone_else_may_not_answer_an_approval(client_for, viewer):
    execution = waiting(start("not-mine", [APPROVAL], [], {"order": 1}))
    bookmark = Bookmark.objects.get(execution=execution)
    response = client_for(viewer).post(f"/api/bookmarks/{bookmark.pk}/resume",
                                       {"outcome": "approved"}, format="json")
    assert response.status_code == 403
    assert Bookmark.objects.get(pk=bookmark.pk).status == "open"


def test_an_approval_timeout_takes_the_timeout_outcome():
    approval = {**APPROVAL, "data": {**APPROVAL["data"], "timeout": 0.5,
                                     "timeout_outcome": "rejected"}}
    execution = waiting(start("timeout-outcome", [
        approval, transform("ship", "shipped"), transform("refund", "refunded"),
    ], [("approve", "ship", "approved"), ("approve", "refund", "rejected")], {"order": 2}))
    fire_timers_after(0.6)
    execution = wait_for(execution)
    assert execution.output == {"refund": "refunded"}
    assert execution.nodes.get(node_id="approve").output["by"] is None


def test_a_wait_without_a_timeout_outcome_fails_on_timeout():
    execution = waiting(start("message-timeout", [
        {"id": "reply", "type": "WaitForMessage",
         "data": {"message_type": "reply", "correlation_key": "x", "timeout": 0.3}},
        transform("after", 1),
    ], [("reply", "after")]))
    fire_timers_after(0.4)
    execution = wait_for(execution)
    assert execution.status == "failed"
    assert execution.nodes.get(node_id="reply").error["fault"] == "timeout"
    assert Bookmark.objects.get(execution=execution).status == "closed"


def test_a_message_resumes_the_waits_with_its_key(client_for, operator):
    # given two executions waiting for replies with different correlation keys
    nodes = [{"id": "reply", "type": "WaitForMessage",
              "data": {"message_type": "payment.received",
                       "correlation_key": "order-{{ input.order }}"}},
             transform("paid", "{{ nodes.reply.payload.amount }}")]
    first = waiting(start("message", nodes, [("reply", "paid")], {"order": 1}))
    second = waiting(start("message2", nodes, [("reply", "paid")], {"order": 2}))
    # when a message for order 1 arrives
    response = client_for(operator).post("/api/messages", {
        "message_type": "payment.received", "correlation_key": "order-1",
        "payload": {"amount": 42}}, format="json")
    # then only the first execution goes on, with the payload
    assert response.status_code == 202 and len(response.json()["resumed"]) == 1
    assert wait_for(first).output == {"paid": 42}
    second.refresh_from_db()
    assert second.status == "waiting"


def test_messages_need_the_execute_permission(client_for, viewer, anonymous):
    body = {"message_type": "x", "correlation_key": "y"}
    assert anonymous.post("/api/messages", body, format="json").status_code == 401
    assert client_for(viewer).post("/api/messages", body, format="json").status_code == 403


def test_a_webhook_wait_is_resumed_by_its_secret_url(anonymous, client_for, operator):
    execution = waiting(start("hook", [
        {"id": "callback", "type": "Webhook", "data": {}},
        transform("got", "{{ nodes.callback.body.status }}"),
    ], [("callback", "got")]))
    [bookmark] = client_for(operator).get("/api/bookmarks",
                                          {"kind": "webhook"}).json()["results"]
    # an unknown token reveals nothing
    assert anonymous.post("/api/hooks/not-a-token", {}, format="json").status_code == 404
    response = anonymous.post(bookmark["hook_url"], {"status": "done"}, format="json",
                              HTTP_X_SIGNATURE="abc")
    assert response.status_code == 202
    execution = wait_for(execution)
    assert execution.output == {"got": "done"}
    headers = execution.nodes.get(node_id="callback").output["headers"]
    assert headers["X-Signature"] == "abc"
    assert anonymous.post(bookmark["hook_url"], {}, format="json").status_code == 404


def test_a_webhook_wait_url_is_shown_only_to_those_who_may_resume_it(client_for, viewer,
                                                                     operator):
    # given a run waiting on a Webhook node
    execution = waiting(start("hook-reader", [{"id": "callback", "type": "Webhook", "data": {}}],
                              []))
    token = Bookmark.objects.get(execution=execution).token
    # when a reader (workflow.read, no workflow.execute) and an operator list and open it
    viewer_client, operator_client = client_for(viewer), client_for(operator)
    [seen] = viewer_client.get("/api/bookmarks", {"kind": "webhook"}).json()["results"]
    detail = viewer_client.get(f"/api/bookmarks/{seen['id']}")
    [allowed] = operator_client.get("/api/bookmarks", {"kind": "webhook"}).json()["results"]
    # then the reader sees the wait but not its URL, anywhere it reads the run
    assert seen["hook_url"] is None and detail.json()["hook_url"] is None
    for path in (f"/api/executions/{execution.pk}", f"/api/executions/{execution.pk}/logs",
                 "/api/bookmarks?status=open"):
        response = viewer_client.get(path)
        assert response.status_code == 200
        assert token not in response.content.decode()
    # and the one who may resume it does
    assert allowed["hook_url"] == f"/api/hooks/{token}"


def test_cancel_closes_the_open_waits():
    execution = waiting(start("cancel-wait", [APPROVAL], [], {"order": 3}))
    services.execution_cancel(execution=execution)
    assert Bookmark.objects.get(execution=execution).status == "closed"
    assert node_states(wait_for(execution)) == {"approve": "cancelled"}


def test_a_running_branch_keeps_the_execution_running_until_only_waits_remain():
    # given a wait on one branch and a validator on the other
    execution = start("parallel-wait", [
        {"id": "pause", "type": "Delay", "data": {"seconds": 60}},
        transform("work", "done"),
        transform("more", "{{ nodes.work }}"),
    ], [("work", "more")])
    execution = waiting(execution)
    # then it is waiting only once the other branch has finished
    assert execution.status == "waiting"
    assert node_states(execution) == {"pause": "waiting", "work": "completed",
                                      "more": "completed"}
    logs = list(execution.logs.values_list("event", flat=True))
    assert logs.index("execution.waiting") > logs.index("node.completed")


def test_a_timer_at_a_time_waits_until_then():
    at = (datetime.now(UTC) + timedelta(seconds=0.5)).isoformat()
    execution = waiting(start("timer-at", [{"id": "at", "type": "Timer", "data": {"at": at}}],
                              []))
    assert execution.status == "waiting"
    fire_timers_after(0.6)
    execution = wait_for(execution)
    assert execution.output == {"at": {"fired_at": at}}


def test_a_cron_timer_waits_for_the_next_occurrence_in_its_zone():
    execution = waiting(start("timer-cron", [
        {"id": "nightly", "type": "Timer", "data": {"cron": "30 2 * * *",
                                                    "timezone": "Europe/Berlin"}}], []))
    bookmark = Bookmark.objects.get(execution=execution)
    local = bookmark.due_at.astimezone(ZoneInfo("Europe/Berlin"))
    assert (local.hour, local.minute) in {(2, 30), (3, 0)}
    assert bookmark.due_at > datetime.now(UTC)
