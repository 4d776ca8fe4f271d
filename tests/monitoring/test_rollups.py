"""Per-minute rollups of finished executions: written by a beat task from the executions
table, across minute boundaries, again for runs whose end committed late, kept for the
retention; the series of the performance API read from them; the most failing workflows
and nodes."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.utils import timezone

from executions.models import Execution, NodeExecution
from monitoring import services
from monitoring.models import ExecutionRollup
from monitoring.selectors import histogram_quantile
from tests.engine import wait_for, workflow_from

pytestmark = [pytest.mark.django_db]

# A minute boundary five minutes ago: the rollups of the minutes before it are written.
BOUNDARY = timezone.now().replace(second=0, microsecond=0) - dt.timedelta(minutes=5)


def ended(workflow, status: str, at: dt.datetime, ran_ms: float | None) -> Execution:
    """An execution of `workflow` that ended at `at` after running `ran_ms` (None: it
    never started)."""
    execution = Execution.objects.create(workflow=workflow, version=workflow.current_version,
                                         status=status)
    started = at - dt.timedelta(milliseconds=ran_ms) if ran_ms is not None else None
    Execution.objects.filter(pk=execution.pk).update(
        created_at=(started or at) - dt.timedelta(seconds=1), started_at=started,
        finished_at=at)
    return execution


@pytest.fixture
def workflow(definition):
    return workflow_from(definition(name="rolled"))


def rows() -> dict[tuple[dt.datetime, str], ExecutionRollup]:
    return {(row.minute, row.status): row for row in ExecutionRollup.objects.all()}


def test_rollups_count_each_minute_and_its_run_times(workflow):
    # given runs that ended on both sides of a minute boundary
    before, after = BOUNDARY - dt.timedelta(seconds=1), BOUNDARY + dt.timedelta(seconds=1)
    ended(workflow, "completed", before, 50)
    ended(workflow, "completed", before, 700)
    ended(workflow, "failed", before, 3000)
    ended(workflow, "completed", after, 120_000)
    ended(workflow, "cancelled", after, None)
    ended(workflow, "running", after, None)  # not ended: not rolled up
    # when the rollups are written two minutes after the later minute ended
    written = services.rollups_write(now=BOUNDARY + dt.timedelta(minutes=2, seconds=5))
    # then each minute has its own rows, by status, with counts and a histogram
    found = rows()
    assert written == 4 and len(found) == 4
    first = found[(BOUNDARY - dt.timedelta(minutes=1), "completed")]
    assert (first.count, first.measured) == (2, 2)
    assert first.duration_sum_ms == pytest.approx(750) and first.duration_max_ms == 700
    assert (first.under_100ms, first.under_500ms, first.under_1s) == (1, 0, 1)
    failed = found[(BOUNDARY - dt.timedelta(minutes=1), "failed")]
    assert (failed.count, failed.under_5s) == (1, 1)
    late = found[(BOUNDARY, "completed")]
    assert (late.count, late.under_5m, late.duration_max_ms) == (1, 1, 120_000)
    cancelled = found[(BOUNDARY, "cancelled")]
    assert (cancelled.count, cancelled.measured, cancelled.duration_sum_ms) == (1, 0, 0)


def test_a_minute_is_written_again_for_runs_that_committed_late(workflow):
    at = BOUNDARY + dt.timedelta(seconds=30)
    ended(workflow, "completed", at, 100)
    services.rollups_write(now=BOUNDARY + dt.timedelta(minutes=1, seconds=1))
    # a run that ended in the same minute, written to the database only after the pass
    ended(workflow, "completed", at, 300)
    services.rollups_write(now=BOUNDARY + dt.timedelta(minutes=2, seconds=1))
    services.rollups_write(now=BOUNDARY + dt.timedelta(minutes=2, seconds=30))  # idempotent
    row = ExecutionRollup.objects.get(minute=BOUNDARY, status="completed")
    assert (row.count, row.duration_sum_ms) == (2, pytest.approx(400))
    assert ExecutionRollup.objects.count() == 1


def test_rollups_older_than_the_retention_are_deleted(workflow, settings):
    settings.PERFORMANCE_ROLLUP_RETENTION_DAYS = 1
    ExecutionRollup.objects.create(minute=timezone.now() - dt.timedelta(days=2),
                                   workflow=workflow, status="completed", count=1)
    kept = ExecutionRollup.objects.create(minute=timezone.now() - dt.timedelta(hours=2),
                                          workflow=workflow, status="completed", count=1)
    assert services.rollups_cleanup() == 1
    assert list(ExecutionRollup.objects.all()) == [kept]


def test_the_histogram_quantile_interpolates_within_its_bucket():
    # 10 runs under 100 ms, 10 between 100 and 500 ms
    counts = [10, 10] + [0] * 10
    assert histogram_quantile(0.5, counts, 450) == 100.0
    assert histogram_quantile(0.75, counts, 450) == 275.0  # halfway through 100..450
    assert histogram_quantile(0.5, [0] * 12, 0) is None
    assert histogram_quantile(0.99, [0] * 11 + [4], 7_200_000) == pytest.approx(7_164_000)


def test_metrics_with_a_bucket_add_a_series_from_the_rollups(workflow, viewer, client_for):
    # given rolled-up runs in two minutes
    for n in range(4):
        ended(workflow, "completed", BOUNDARY - dt.timedelta(seconds=10 + n), 80)
    ended(workflow, "failed", BOUNDARY + dt.timedelta(seconds=10), 2000)
    services.rollups_write(now=BOUNDARY + dt.timedelta(minutes=3))
    since = BOUNDARY - dt.timedelta(minutes=2)
    # when a series by the minute is asked for
    body = client_for(viewer).get("/api/performance/metrics", {
        "from": since.isoformat(), "to": (BOUNDARY + dt.timedelta(minutes=2)).isoformat(),
        "bucket": "minute"}).json()
    # then it has one point a minute, zeros included, with the ends and run times
    assert body["bucket"] == "minute"
    points = {point["at"]: point for point in body["series"]}
    assert len(points) == 4
    full = points[(BOUNDARY - dt.timedelta(minutes=1)).isoformat().replace("+00:00", "Z")]
    assert full["by_status"] == {"completed": 4, "failed": 0, "cancelled": 0}
    assert full["finished"] == 4 and full["throughput_per_minute"] == 4.0
    assert full["duration_ms"]["avg"] == 80.0 and full["duration_ms"]["p50"] <= 100
    failed = points[BOUNDARY.isoformat().replace("+00:00", "Z")]
    assert failed["by_status"]["failed"] == 1 and 1000 <= failed["duration_ms"]["p95"] <= 2500
    empty = points[(BOUNDARY - dt.timedelta(minutes=2)).isoformat().replace("+00:00", "Z")]
    assert empty["finished"] == 0 and empty["duration_ms"]["p50"] is None
    # and by the hour the same runs fall into one or two points
    hourly = client_for(viewer).get("/api/performance/metrics", {
        "from": (BOUNDARY - dt.timedelta(hours=3)).isoformat(), "bucket": "hour"}).json()
    assert sum(point["finished"] for point in hourly["series"]) == 5


@pytest.mark.parametrize(("query", "field"), [
    ({"bucket": "week"}, "bucket"),
    ({"bucket": "minute", "from": "2026-01-01T00:00:00Z", "to": "2026-01-03T00:00:00Z"},
     "bucket"),
])
def test_a_bucket_too_fine_for_the_range_is_refused(viewer, client_for, query, field):
    response = client_for(viewer).get("/api/performance/metrics", query)
    assert response.status_code == 400
    assert field in response.json()["details"]["fields"]


def test_auto_picks_the_finest_bucket_within_360_points(viewer, client_for):
    body = client_for(viewer).get("/api/performance/metrics", {"bucket": "auto"}).json()
    assert body["bucket"] == "hour" and len(body["series"]) in (24, 25)


def test_the_most_failing_workflows_and_nodes_link_their_newest_failed_run(definition, viewer,
                                                                         client_for):
    flaky = workflow_from(definition(name="flaky"))
    steady = workflow_from(definition(name="steady"))
    runs = [ended(flaky, "failed", BOUNDARY + dt.timedelta(seconds=n), 10) for n in range(3)]
    ended(steady, "failed", BOUNDARY, 10)
    ended(steady, "completed", BOUNDARY, 10)
    for run in runs:
        NodeExecution.objects.create(execution=run, node_id="call", node_type="HttpRequest",
                                     status="failed")
    body = client_for(viewer).get("/api/performance/failures", {"limit": 5}).json()
    assert [(row["workflow"], row["failures"]) for row in body["workflows"]] == [
        ("tests/flaky", 3), ("tests/steady", 1)]
    assert body["workflows"][0]["last_execution"] == str(runs[-1].pk)
    assert [(row["node_id"], row["node_type"], row["failures"]) for row in body["nodes"]] == [
        ("call", "HttpRequest", 3)]
    assert body["nodes"][0]["last_execution"] == str(runs[-1].pk)


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_the_beat_task_rolls_up_runs_of_the_real_workers(definition, worker):
    from executions import services as execution_services
    from monitoring.tasks import rollups_write

    # given two runs on the real workers, moved two minutes back (run times kept): the pass
    # writes the minutes that have ended
    workflow = workflow_from(definition(name="really-rolled"))
    runs = [wait_for(execution_services.execution_start(workflow=workflow,
                                                        input={"name": str(n)})[0])
            for n in range(2)]
    back = dt.timedelta(minutes=2)
    for run in runs:
        Execution.objects.filter(pk=run.pk).update(started_at=run.started_at - back,
                                                   finished_at=run.finished_at - back)
    # when beat's task is sent, as beat sends it, and a worker runs it
    rollups_write.delay()
    rolled = ExecutionRollup.objects.filter(workflow=workflow, status="completed")
    deadline = time.monotonic() + 30
    while not rolled.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    # then both runs are in the rollups with their real run times
    assert sum(rolled.values_list("count", flat=True)) == 2
    total = sum((run.finished_at - run.started_at).total_seconds() * 1000 for run in runs)
    assert sum(rolled.values_list("duration_sum_ms", flat=True)) == pytest.approx(total)
