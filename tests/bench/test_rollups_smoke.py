"""The rollups benchmark (bench/rollups.py) keeps working: both sides at tiny sizes, with
rollup passes really written beside the second one."""

from __future__ import annotations

import datetime as dt
import json
import os

import pytest
from django.conf import settings

from bench import rollups as bench
from bench import run
from tests import workers

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

TINY = ["--workers", "1", "--concurrency", "1", "--runs", "2", "--warmup", "0",
        "--executions", "3", "--chain-length", "2", "--interval", "0.05", "--history", "40"]


def test_a_tiny_run_measures_both_sides_and_times_the_rollup_passes(tmp_path, _default_groups):
    # given the harness's own worker on the test database
    args = bench.parse_args([*TINY, "--output", str(tmp_path / "results")])
    environment = {"DATABASE_URL": workers.test_database_url(),
                   "CELERY_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE}

    # when both sides are measured twice, in alternating order, and reported
    with run.workers_running(1, 1, environment, tmp_path):
        figures = bench.measure(args, log=lambda message: None)
    report = bench.report_build(args, figures, started=dt.datetime.now(dt.UTC),
                                load_before=list(os.getloadavg()), command="test")
    json_path, markdown_path = bench.report_write(report, tmp_path / "results")

    # then each side has its figures over both runs, the passes ran beside the bursts only,
    # the passes over the history were timed without and with the index, and the reports
    # say it is a smoke run with the ratio and the target
    for side in bench.SIDES:
        for key, _title in bench.FIGURES:
            assert len(figures[side][key]["runs"]) == 2
    assert "rollup_passes" not in figures["alone"]
    assert figures["rollup_pass"]["count"] >= 2
    assert figures["rollup_pass"]["p95_ms"] > 0
    index = figures["rollup_pass_index"]
    assert index["without_index"]["p50_ms"] > 0 and index["with_index"]["p50_ms"] > 0
    assert report["ratios"]["node_steps_per_s"] is not None
    paired = report["pair_ratios"]["node_steps_per_s"]
    assert paired["min"] <= paired["median"] <= paired["max"]
    assert json_path.name == f"rollups-{report['started_at'][:10]}-smoke.json"
    assert json.loads(json_path.read_text())["target"]["value"] is not None
    assert "| node steps/s |" in markdown_path.read_text()
    assert "| with |" in markdown_path.read_text()
    from executions.models import Execution

    assert Execution.objects.filter(workflow__name="bench-history").count() == 40


def test_bad_options_are_refused_and_small_sizes_are_smoke():
    assert bench.parse_args([]).label == ""
    assert bench.parse_args(["--runs", "2"]).label == "smoke"
    for bad in (["--interval", "0"], ["--executions", "0"], ["--database", "weft"]):
        with pytest.raises(SystemExit):
            bench.parse_args(bad)
