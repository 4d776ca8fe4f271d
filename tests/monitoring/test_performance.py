"""The performance API: figures of the executions, checked against executions whose
timestamps the test knows, and against runs made on the real workers."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from executions import services
from executions.models import Execution
from tests.engine import wait_for, workflow_from

pytestmark = [pytest.mark.django_db]

NOW = timezone.now().replace(microsecond=0)


def executions_made(workflow, rows: list[tuple[str, float | None, dt.timedelta]]) -> None:
    """Executions of `workflow`: (status, run time in ms or None, created this long ago)."""
    for status, duration_ms, ago in rows:
        created = NOW - ago
        execution = Execution.objects.create(workflow=workflow, version=workflow.current_version,
                                             status=status)
        started = created if duration_ms is not None else None
        finished = (created + dt.timedelta(milliseconds=duration_ms)
                    if duration_ms is not None else None)
        Execution.objects.filter(pk=execution.pk).update(created_at=created, started_at=started,
                                                         finished_at=finished)


@pytest.fixture
def workflow(definition):
    return workflow_from(definition(name="measured"))


def test_metrics_count_rate_and_time_the_executions_in_the_range(workflow, viewer, client_for):
    # given 10 completed runs of 100..1000 ms, 2 failed of 50 ms, 1 running, in the last
    # hour, and one completed run two days ago (outside the default range)
    executions_made(workflow, [("completed", 100.0 * n, dt.timedelta(minutes=n))
                               for n in range(1, 11)])
    executions_made(workflow, [("failed", 50.0, dt.timedelta(minutes=5))] * 2)
    executions_made(workflow, [("running", None, dt.timedelta(minutes=1)),
                               ("completed", 5.0, dt.timedelta(days=2))])
    # when a viewer reads the metrics of the last 24 hours
    response = client_for(viewer).get("/api/performance/metrics")
    # then the figures are those of the 13 executions in the range
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["total"] == 13
    assert body["by_status"]["completed"] == 10 and body["by_status"]["failed"] == 2
    assert body["by_status"]["running"] == 1 and body["by_status"]["pending"] == 0
    assert body["finished"] == 12
    assert body["success_rate"] == round(10 / 12, 4)
    assert body["failure_rate"] == round(2 / 12, 4)
    durations = sorted([100.0 * n for n in range(1, 11)] + [50.0, 50.0])
    assert body["duration_ms"]["count"] == 12
    assert body["duration_ms"]["avg"] == round(sum(durations) / 12, 1)
    assert body["duration_ms"]["p50"] == 450.0  # between the 6th (400) and 7th (500)
    assert body["duration_ms"]["p95"] == 945.0
    assert body["throughput_per_minute"] == round(12 / (24 * 60), 3)


def test_a_range_chooses_the_executions(workflow, viewer, client_for):
    executions_made(workflow, [("completed", 10.0, dt.timedelta(days=2)),
                               ("failed", 20.0, dt.timedelta(days=3))])
    since = (NOW - dt.timedelta(days=4)).isoformat()
    until = (NOW - dt.timedelta(days=1)).isoformat()
    body = client_for(viewer).get("/api/performance/metrics",
                                  {"from": since, "to": until}).json()
    assert body["total"] == 2 and body["success_rate"] == 0.5
    assert body["duration_ms"]["p50"] == 15.0


@pytest.mark.parametrize(("query", "field"), [
    ({"from": "yesterday"}, "from"),
    ({"to": "2026-01-01T00:00:00Z", "from": "2026-02-01T00:00:00Z"}, "from"),
    ({"from": "2000-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, "from"),
    ({"to": "0001-01-01T00:00:00Z"}, "from"),
    ({"window": "1h"}, "window"),
])
def test_a_bad_range_is_refused_naming_the_field(viewer, client_for, query, field):
    response = client_for(viewer).get("/api/performance/metrics", query)
    assert response.status_code == 400
    assert field in response.json()["details"]["fields"]


HOSTILE = ["NaN", "Infinity", "-1", "1e309", "9" * 400, "x\x00y", "", " ", "2026-13-45",
           "99999-01-01T00:00:00Z", "1" * 5000]


@pytest.mark.parametrize(("path", "field"), [
    ("/api/performance/metrics", "from"), ("/api/performance/metrics", "to"),
    ("/api/performance/metrics", "bucket"), ("/api/performance/executions/recent", "count"),
    ("/api/performance/executions/average-time/tests/measured", "from"),
    ("/api/performance/executions/count/tests/measured", "date"),
    ("/api/performance/failures", "limit"), ("/api/performance/failures", "to"),
])
def test_every_query_field_refuses_hostile_values_naming_the_field(workflow, viewer,
                                                                   client_for, path, field):
    api = client_for(viewer)
    for value in HOSTILE:
        # when a hostile value is sent in the field (a value that may stand, say an empty
        # one meaning the default, is answered as usual)
        response = api.get(path, {field: value})
        # then the answer is JSON: the figures, or a 400 naming the field
        assert response["Content-Type"].startswith("application/json"), (value, response)
        assert response.status_code in (200, 400), (value, response.status_code)
        if response.status_code == 400:
            assert field in response.json()["details"]["fields"], (value, response.json())
    # and the same field twice is answered as well
    twice = api.get(f"{path}?{field}=1&{field}=NaN")
    assert twice.status_code in (200, 400) and twice["Content-Type"].startswith(
        "application/json")


def test_a_workflow_reference_that_names_none_is_a_404(viewer, client_for):
    api = client_for(viewer)
    for reference in ("tests/missing", "00000000-0000-0000-0000-000000000000", "x" * 300,
                      "a/b/c", "%00"):
        for kind in ("average-time", "count"):
            response = api.get(f"/api/performance/executions/{kind}/{reference}")
            assert response.status_code == 404, (reference, response.status_code)
            assert response["Content-Type"].startswith("application/json")


def test_recent_average_time_and_count_of_a_day(workflow, definition, viewer, client_for):
    other = workflow_from(definition(name="other"))
    executions_made(workflow, [("completed", 200.0, dt.timedelta(minutes=3)),
                               ("completed", 400.0, dt.timedelta(minutes=2))])
    executions_made(other, [("failed", 900.0, dt.timedelta(minutes=1))])
    api = client_for(viewer)
    recent = api.get("/api/performance/executions/recent", {"count": 2}).json()["executions"]
    average = api.get(f"/api/performance/executions/average-time/{workflow.full_name}").json()
    count = f"/api/performance/executions/count/{workflow.pk}"
    asked = timezone.now().date().isoformat()
    today = api.get(count).json()
    answered = timezone.now().date().isoformat()
    days = [(NOW - dt.timedelta(minutes=ago)).date().isoformat() for ago in (3, 2)]
    their_day = api.get(count, {"date": days[0]}).json()
    other_day = api.get(count, {"date": "2001-02-03"}).json()
    # newest first, with their run times
    assert [(row["workflow"], row["status"], row["duration_ms"]) for row in recent] == [
        ("tests/other", "failed", 900.0), ("tests/measured", "completed", 400.0)]
    assert average["duration_ms"]["count"] == 2 and average["duration_ms"]["avg"] == 300.0
    # a day counts the runs created on it (UTC); without a date, today (a run near midnight
    # may have been made yesterday)
    assert their_day["total"] == days.count(days[0])
    assert their_day["by_status"] == {"completed": days.count(days[0])}
    assert today["date"] in (asked, answered)
    assert today["total"] == days.count(today["date"])
    assert other_day == {"workflow": "tests/measured", "date": "2001-02-03", "total": 0,
                         "by_status": {}}


def test_the_performance_api_needs_workflow_read(workflow, client_for, nobody):
    for path in ("/api/performance/metrics", "/api/performance/executions/recent",
                 f"/api/performance/executions/average-time/{workflow.pk}",
                 f"/api/performance/executions/count/{workflow.pk}"):
        assert client_for(nobody).get(path).status_code == 403
        assert client_for(None).get(path).status_code in (401, 403)
    missing = client_for(nobody).get("/api/performance/executions/count/no/such")
    assert missing.status_code in (403, 404)


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_runs_on_the_workers_are_counted(definition, viewer, client_for, worker):
    # given three runs of a workflow on the real workers
    workflow = workflow_from(definition(name="really-run"))
    runs = [wait_for(services.execution_start(workflow=workflow, input={"name": str(n)})[0])
            for n in range(3)]
    # when the metrics and the workflow's count of today are read
    api = client_for(viewer)
    metrics = api.get("/api/performance/metrics").json()
    count = api.get(f"/api/performance/executions/count/{workflow.pk}").json()
    average = api.get(f"/api/performance/executions/average-time/{workflow.pk}").json()
    # then they are the three completed runs with their real run times
    assert [run.status for run in runs] == ["completed"] * 3
    assert metrics["by_status"]["completed"] == 3 and metrics["success_rate"] == 1.0
    assert count["by_status"] == {"completed": 3}
    times = sorted((run.finished_at - run.started_at).total_seconds() * 1000 for run in runs)
    assert average["duration_ms"]["count"] == 3
    assert average["duration_ms"]["p50"] == round(times[1], 1)
