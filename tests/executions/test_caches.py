"""The caches of immutable things (plans, node types) and their hit and miss counts."""

from __future__ import annotations

import json

import pytest

from executions import services
from executions.plan import PLAN_CACHE, plan_build, plan_for
from monitoring.metrics import CACHE_REQUESTS
from tests.engine import workflow_from
from workflows import services as workflow_services
from workflows.caching import KEY_PREFIX, STATS_KEY, _client, cache_stats, process_caches_clear

pytestmark = pytest.mark.django_db


def _flow(name: str, message: str = "hi") -> dict:
    return {"name": name, "namespace": "cache", "nodes": [
        {"id": "a", "type": "Logger", "data": {"level": "info", "message": message}},
        {"id": "b", "type": "Logger", "data": {"level": "info", "message": "b"}},
    ], "edges": [{"source": "a", "target": "b"}]}


def _counts(cache: str) -> dict[tuple[str, str], int]:
    stats = cache_stats().get(cache, {})
    return {(layer, result): n for layer, results in stats.items()
            for result, n in results.items()}


def _delta(before: dict, after: dict) -> dict[tuple[str, str], int]:
    return {key: after.get(key, 0) - before.get(key, 0)
            for key in set(before) | set(after) if after.get(key, 0) != before.get(key, 0)}


def _prometheus(cache: str, layer: str, result: str) -> float:
    return CACHE_REQUESTS.labels(cache, layer, result)._value.get()


def _redis_plan_keys(version) -> list[bytes]:
    return list(_client().scan_iter(match=f"{KEY_PREFIX}{PLAN_CACHE}:{version.pk}:*"))


def test_a_plan_is_built_once_then_served_from_the_process():
    # given a fresh version nobody has planned yet
    process_caches_clear()
    version = workflow_from(_flow("once")).current_version
    before = _counts(PLAN_CACHE)
    prometheus_hits = _prometheus(PLAN_CACHE, "process", "hit")
    # when its plan is asked for twice
    first = plan_for(version)
    second = plan_for(version)
    # then it was built once (a miss in both layers) and then found in the process
    assert second is first
    assert first.roots == ("a",) and first.leaves == ("b",)
    assert _delta(before, _counts(PLAN_CACHE)) == {
        ("process", "miss"): 1, ("redis", "miss"): 1, ("process", "hit"): 1}
    assert _prometheus(PLAN_CACHE, "process", "hit") == prometheus_hits + 1


def test_a_fresh_process_gets_the_plan_from_redis_as_json():
    # given a plan built by some process
    process_caches_clear()
    version = workflow_from(_flow("shared")).current_version
    built = plan_for(version)
    # when a fresh process (an empty process layer) asks for it
    process_caches_clear()
    before = _counts(PLAN_CACHE)
    again = plan_for(version)
    # then Redis had it, and the plan made from it is the same
    assert _delta(before, _counts(PLAN_CACHE)) == {("process", "miss"): 1, ("redis", "hit"): 1}
    assert again == built and again is not built
    # and what Redis holds is JSON (the normalised graph), not a pickle
    [key] = _redis_plan_keys(version)
    assert key.decode() == f"{KEY_PREFIX}plan:{version.pk}:{version.checksum}:"
    stored = json.loads(_client().get(key))
    assert stored == version.definition
    assert plan_build(stored) == built


def test_a_new_version_gets_its_own_entry():
    # given a workflow whose version 1 was planned
    process_caches_clear()
    workflow = workflow_from(_flow("versions", message="one"))
    first = workflow.current_version
    plan_v1 = plan_for(first)
    # when version 2 is saved and planned
    workflow_services.workflow_update(workflow=workflow, definition=_flow("versions", "two"),
                                      actor=None)
    workflow.refresh_from_db()
    second = workflow.current_version
    before = _counts(PLAN_CACHE)
    plan_v2 = plan_for(second)
    # then version 2 was a miss with a plan of its own, and version 1 still hits
    assert second.pk != first.pk
    assert _delta(before, _counts(PLAN_CACHE)) == {("process", "miss"): 1, ("redis", "miss"): 1}
    assert plan_v2.nodes["a"]["data"]["message"] == "two"
    assert plan_for(first) is plan_v1
    assert plan_v1.nodes["a"]["data"]["message"] == "one"


def test_the_key_holds_the_checksum_so_a_reused_pk_never_reads_another_plan():
    # given a version whose plan is cached
    process_caches_clear()
    version = workflow_from(_flow("reused", message="old")).current_version
    plan_for(version)
    # when another definition turns up under the same pk (a recreated database)
    version.definition = _flow("reused", message="new")
    version.checksum = "0" * 64
    # then it gets its own plan
    assert plan_for(version).nodes["a"]["data"]["message"] == "new"


def test_node_types_are_described_once_per_registry(client_for, viewer, test_node_types):
    # given a registry nobody has described yet in this process
    process_caches_clear()
    client = client_for(viewer)
    before = _counts("node_types")
    # when the list and one type are read twice each
    listed = [client.get("/api/nodes/types") for _ in range(2)]
    one = [client.get("/api/nodes/types/Sleep") for _ in range(2)]
    # then each was built once and then found in the process (no Redis layer for them)
    assert [r.status_code for r in listed + one] == [200] * 4
    assert listed[0].json() == listed[1].json()
    assert one[0].json() == one[1].json() and one[0].json()["name"] == "Sleep"
    assert _delta(before, _counts("node_types")) == {("process", "miss"): 2,
                                                     ("process", "hit"): 2}


def test_a_changed_registry_is_described_again(client_for, viewer, settings):
    # given the list of node types, read and cached
    from workflows.nodes.registry import registry_reset

    process_caches_clear()
    registry_reset()
    client = client_for(viewer)
    names = {item["name"] for item in client.get("/api/nodes/types").json()}
    assert "Sleep" not in names
    # when the registry changes (a custom type is added)
    settings.WORKFLOW_NODE_TYPES = ["tests.nodetypes.Sleep"]
    registry_reset()
    try:
        before = _counts("node_types")
        names = {item["name"] for item in client.get("/api/nodes/types").json()}
    finally:
        registry_reset()
    # then the new type is listed: the old entry was not used
    assert "Sleep" in names
    assert _delta(before, _counts("node_types")) == {("process", "miss"): 1}


def test_cache_stats_sums_the_counts_of_every_process():
    # given counts another process already added to the shared hash
    _client().hincrby(STATS_KEY, "plan:process:hit", 40)
    _client().hincrby(STATS_KEY, "plan:redis:miss", 2)
    before = _counts(PLAN_CACHE)
    # when this process looks up a plan twice
    process_caches_clear()
    version = workflow_from(_flow("sums")).current_version
    plan_for(version)
    plan_for(version)
    # then the totals hold both processes' counts
    after = _counts(PLAN_CACHE)
    assert after[("process", "hit")] == before[("process", "hit")] + 1 >= 41
    assert after[("redis", "miss")] == before[("redis", "miss")] + 1 >= 3
    assert set(cache_stats()) >= {"plan"}


def test_execution_state_is_never_cached(client_for, operator):
    # given an execution whose state was read over the API
    flow = workflow_from(_flow("fresh"))
    execution, _ = services.execution_start(workflow=flow, input={})
    client = client_for(operator)
    assert client.get(f"/api/executions/{execution.pk}").json()["status"] == "running"
    # when its state changes and the change is committed
    services.execution_pause(execution=execution)
    # then the next read shows it at once
    assert client.get(f"/api/executions/{execution.pk}").json()["status"] == "paused"
    services.execution_resume(execution=execution)
    assert client.get(f"/api/executions/{execution.pk}").json()["status"] == "running"
