"""The load benchmarks (bench/load.py) keep working: their parts, at tiny sizes.

The full commands start their own web server, workers and beat on their own database, so
they are not run here (docs/performance.md gives the smoke commands); these tests cover
the parts that the commands are made of, on the test database and the test run's broker.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys

import pytest

from bench import load


def test_small_sizes_are_smoke_and_the_defaults_are_not():
    assert load.parse_args(["scale"]).label == ""
    assert load.parse_args(["scale", "--executions", "10000"]).label == "smoke"
    assert load.parse_args(["api", "--duration", "5", "--label", "box"]).label == "box-smoke"
    assert load.parse_args(["webhooks", "--runs", "1"]).smoke is True
    assert load.parse_args(["api"]).with_workers is False
    with pytest.raises(SystemExit):
        load.parse_args(["scale", "--database", "weft"])
    with pytest.raises(SystemExit):
        load.parse_args(["webhooks", "--clients", "0"])


def test_the_scale_workflow_is_a_valid_definition(db):
    from workflows.definitions.validation import definition_validate

    nodes = [{"id": "wait", "type": "Timer", "data": {"at": load.FAR_FUTURE}},
             load.transform()]
    edges = [{"source": "wait", "target": "work"}]
    definition = {"name": "bench-scale", "namespace": "bench", "nodes": nodes, "edges": edges}
    assert definition_validate(definition).ok


def test_the_client_counts_every_answer_with_its_latency(live_server):
    # given the platform served by a live server
    # when 3 clients ask for a page that exists and then one that does not, for a moment
    found = load.drive(live_server.url, "GET", "/health", clients=3, duration=0.3,
                       headers={}, body=None, keep_bodies=False)
    missing = load.drive(live_server.url, "GET", "/no-such-page", clients=2, duration=0.2,
                         headers={}, body=None, keep_bodies=False)

    # then every answer is counted by status, with a latency each
    assert set(found.statuses) == {"200"}
    assert len(found.latencies) == found.statuses["200"] > 0
    figures = found.figures("get")
    assert set(figures) == {"get_requests_per_s", "get_ok_per_s", "get_p50_ms", "get_p95_ms",
                            "get_p99_ms", "get_non_2xx"}
    assert figures["get_non_2xx"] == 0
    assert missing.figures("x")["x_non_2xx"] == missing.statuses["404"] > 0


def test_memory_counts_a_process_and_its_children():
    parent = subprocess.Popen([sys.executable, "-c",
                               "import subprocess, sys, time; "
                               "subprocess.Popen([sys.executable, '-c', 'import time; "
                               "time.sleep(30)']); time.sleep(30)"])
    try:
        import psutil

        deadline = dt.datetime.now() + dt.timedelta(seconds=10)
        while not psutil.Process(parent.pid).children() and dt.datetime.now() < deadline:
            pass
        both = load.memory_of([parent])
        alone = psutil.Process(parent.pid).memory_info().rss / 2**20
    finally:
        for child in psutil.Process(parent.pid).children(recursive=True):
            child.kill()
        parent.kill()
        parent.wait()
    assert both["rss_mb"] > alone
    assert 0 < both["pss_mb"] <= both["rss_mb"]


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_report_has_the_median_min_and_max_and_says_smoke(tmp_path):
    # given two runs of the webhook benchmark
    args = load.parse_args(["webhooks", "--runs", "2", "--duration", "1"])
    args.workers_started = 1
    runs = [{"accepted_per_s": 10.0, "completed_per_s": 5.0, "_statuses": {"202": 10}},
            {"accepted_per_s": 30.0, "completed_per_s": 7.0, "_statuses": {"202": 30}}]

    # when the report is built and written
    report = load.report_build(args, runs, started=dt.datetime.now(dt.UTC),
                               load_before=list(os.getloadavg()), command="test")
    json_path, markdown_path = load.report_write(report, tmp_path)

    # then each figure has its median, min and max, the targets are checked, it is smoke
    assert report["figures"]["accepted_per_s"] == {"median": 20.0, "min": 10.0, "max": 30.0,
                                                   "runs": [10.0, 30.0]}
    assert [target["met"] for target in report["targets"]] == [False, False]
    assert json_path.name.startswith("webhooks-") and json_path.name.endswith("-smoke.json")
    assert json.loads(json_path.read_text())["details"][0] == {"_statuses": {"202": 10}}
    text = markdown_path.read_text()
    assert "Smoke figures" in text
    assert "| accepted_per_s | 20 (10 - 30) |" in text
