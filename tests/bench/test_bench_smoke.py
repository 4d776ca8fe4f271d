"""The benchmark harness (bench/run.py) keeps working: every figure at tiny sizes.

One worker started by the harness itself (with the baseline's tasks), on the test database
and the test run's broker; the figures' values are not asserted, only that they exist.
"""

from __future__ import annotations

import datetime as dt
import json
import os

import pytest
from django.conf import settings

from bench import run as bench
from tests import workers

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

TINY = ["--workers", "1", "--concurrency", "1", "--runs", "1", "--warmup", "0",
        "--executions", "2", "--chain-length", "3", "--fanout-executions", "1",
        "--fanout-width", "3", "--latency-count", "2"]


def test_a_tiny_run_produces_every_figure_and_both_reports(tmp_path, _default_groups):
    # given the harness's own worker on the test database
    args = bench.parse_args([*TINY, "--output", str(tmp_path / "results")])
    environment = {"DATABASE_URL": workers.test_database_url(),
                   "CELERY_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE}

    # when every shape is measured, engine and raw Celery, and reported
    try:
        with bench.workers_running(1, 1, environment, tmp_path) as running:
            figures = bench.measure(args, log=lambda message: None)
    finally:
        bench.queues_purge([f"{settings.CELERY_TASK_DEFAULT_QUEUE}.raw"], delete=True)
    report = bench.report_build(args, figures, started=dt.datetime.now(dt.UTC),
                                load_before=list(os.getloadavg()), command="test",
                                logs=running.logs, profile="test")
    json_path, markdown_path = bench.report_write(report, tmp_path / "results")

    # then each figure has its median, min and max, and the files say it is a smoke run
    for shape, rows in bench.FIGURE_ROWS.items():
        for side in ("engine", "raw"):
            for key, _title in rows:
                assert set(figures[shape][side][key]) == {"median", "min", "max", "runs"}
    assert all(value is not None for value in report["ratios"].values())
    assert "executions.node_run" in report["task_runtimes"]
    assert json_path.name.endswith("-smoke.json")
    assert json.loads(json_path.read_text())["smoke"] is True
    table = markdown_path.read_text()
    assert "Smoke figures" in table
    assert "(c) latency | start -> first node running p95 (ms)" in table


def test_the_definitions_are_valid_workflows(db):
    from workflows.definitions.validation import definition_validate

    for definition in (bench.chain_definition(10), bench.fanout_definition(100)):
        assert definition_validate(definition).ok


def test_only_baseline_measures_raw_celery_alone_and_small_sizes_are_smoke():
    args = bench.parse_args(["--only", "baseline"])
    assert (args.engine, args.baseline, args.shapes) == (False, True, list(bench.SHAPES))
    assert args.label == ""
    assert bench.parse_args(["--executions", "20"]).label == "smoke"
    assert bench.parse_args(["--runs", "1", "--label", "laptop"]).label == "laptop-smoke"
    with pytest.raises(SystemExit):
        bench.parse_args(["--database", "weft"])
