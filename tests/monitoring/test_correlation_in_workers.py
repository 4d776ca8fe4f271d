"""A request's correlation id travels in the task headers into a real worker's log lines."""

from __future__ import annotations

import json
import uuid

import pytest

from monitoring.correlation import bound
from monitoring.tasks import audit_log_cleanup


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_task_log_lines_name_the_request_that_started_them(worker):
    # given a real worker on the run's broker and database
    correlation_id = f"request-{uuid.uuid4().hex[:8]}"
    # when a task is published inside a request's context
    with bound(correlation_id):
        result = audit_log_cleanup.delay()
    assert result.get(timeout=60) == 0
    # then the worker's log line for that task carries the request's correlation id
    records = [json.loads(line) for line in worker.lines() if line.startswith("{")]
    task_lines = [r for r in records if r.get("message") == "audit log retention applied"
                  and r.get("correlation_id") == correlation_id]
    assert len(task_lines) == 1, "\n".join(worker.lines()[-30:])
    assert task_lines[0]["task"] == "monitoring.tasks.audit_log_cleanup"
