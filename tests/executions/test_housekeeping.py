"""The housekeeping tick under a real beat and worker: timers stay prompt, and an idle
platform logs nothing about it at INFO while workflow tasks still log."""

from __future__ import annotations

import json
import threading

import pytest

from executions import services
from tests.engine import wait_for, workflow_from
from tests.workers import celery_beat

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

IDLE_SECONDS = 4


def records(lines: list[str]) -> list[dict]:
    parsed = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            parsed.append(record)
    return parsed


def task_events(worker_name: str, seconds: float) -> list[dict]:
    """The events the worker sends (as to Flower) during `seconds`."""
    from config.celery import app

    events: list[dict] = []
    app.control.enable_events(destination=[worker_name])
    try:
        with app.connection_for_read() as connection:
            receiver = app.events.Receiver(connection, handlers={"*": events.append})
            stop = threading.Timer(seconds, lambda: setattr(receiver, "should_stop", True))
            stop.start()
            receiver.capture(limit=None, timeout=None, wakeup=False)
    finally:
        app.control.disable_events(destination=[worker_name])
    return [event for event in events if event.get("hostname") == worker_name]


def test_an_idle_worker_and_beat_log_no_housekeeping_at_info(worker, tmp_path):
    # given the worker, a beat (logging at DEBUG, to see what it sends) and an execution
    # waiting on a one-second Delay
    flow = workflow_from({"name": "quiet", "namespace": "housekeeping", "nodes": [
        {"id": "pause", "type": "Delay", "data": {"seconds": 1}},
        {"id": "after", "type": "Transform", "data": {"template": "done"}},
    ], "edges": [{"source": "pause", "target": "after"}]})
    logged_before = len(worker.lines())
    with celery_beat(tmp_path / "beat", LOG_FORMAT="json", LOG_LEVEL="DEBUG") as (_, beat_log):
        execution, _ = services.execution_start(workflow=flow, input={})
        # then the Delay resumes through beat's tick, promptly
        assert wait_for(execution, timeout=30).status == "completed"
        # when the platform stays idle for a few seconds
        idle_from = len(worker.lines())
        beat_idle_from = len(beat_log.read_text(errors="replace").splitlines())
        events = task_events(worker.name, IDLE_SECONDS)
        beat_lines = beat_log.read_text(errors="replace").splitlines()
    run, idle = worker.lines()[logged_before:idle_from], worker.lines()[idle_from:]
    # then the worker logged the workflow's tasks at INFO, and nothing at INFO while idle
    assert any(r["level"] == "INFO" and "executions.node_run" in r["message"]
               and "received" in r["message"] for r in records(run))
    # (but for the lines of the remote control that switches its events on and off)
    assert [r["message"] for r in records(idle)
            if r["level"] != "DEBUG" and r["logger"] != "celery.worker.control"] == []
    # and beat sent the tick every second, saying so at DEBUG only
    beat_idle = records(beat_lines[beat_idle_from:])
    sent = [r for r in beat_idle if "Sending due task housekeeping" in r.get("message", "")]
    assert len(sent) >= IDLE_SECONDS - 1
    assert [r["message"] for r in beat_idle if r["level"] == "INFO"] == []
    # and the worker, sending events to Flower, sent none about the ticks
    assert any(event["type"] == "worker-heartbeat" for event in events)
    assert [event for event in events if event["type"].startswith("task-")] == []
