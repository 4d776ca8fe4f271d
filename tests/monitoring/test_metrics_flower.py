"""Flower imports the platform (`celery -A config flower`), and with it the metrics: its own
`/metrics` must answer without the platform's state gauges, whose database reads would fail
in its event loop (SynchronousOnlyOperation)."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client import REGISTRY

from monitoring.metrics import STATE_COLLECTORS
from tests.monitoring.test_flower import flower_server

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_state_gauges_are_in_no_processs_global_registry():
    # prometheus_client's global registry is what Flower, a worker host's port and any
    # other process serve; the state gauges are added by the web server's /metrics alone
    registered = set(REGISTRY._collector_to_names)
    assert not registered & set(STATE_COLLECTORS)
    assert REGISTRY.get_sample_value("weft_executions_active", {"status": "running"}) is None


def test_flowers_own_metrics_answer_without_an_error(tmp_path):
    # given a real Flower, started as dev.py and docker-compose start it
    with flower_server(tmp_path) as flower:
        # when Prometheus scrapes it, twice
        responses = [httpx.get(f"{flower.origin}/flower/metrics", timeout=30)
                     for _ in range(2)]
        log = flower.log.read_text(errors="replace")

    # then it answers with its own metrics, not the platform's state, and logs no error
    for response in responses:
        assert response.status_code == 200, response.text[:300]
        assert "flower_events_total" in response.text or "flower_" in response.text
        assert "weft_executions_active" not in response.text
    assert "SynchronousOnlyOperation" not in log
    assert '"level": "ERROR"' not in log, log[-2000:]
