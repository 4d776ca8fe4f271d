"""Liveness, readiness, metrics and correlation ids."""

from __future__ import annotations

import json
import logging

import pytest

from tests.conftest import PASSWORD
from tests.servers import METRICS_HEADERS, METRICS_TOKEN

pytestmark = pytest.mark.django_db


def test_liveness_is_public(client):
    response = client.get("/health")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_readiness_reports_each_backing_service(client):
    # given the database, broker, result backend and channel layer this run uses
    response = client.get("/health/ready")
    # then each is reported, and all answer
    body = response.json()
    assert set(body["checks"]) == {"database", "broker", "result_backend", "channel_layer"}
    assert response.status_code == 200, body
    assert body["status"] == "ready"
    assert all(check["ok"] for check in body["checks"].values())


@pytest.fixture
def broker_down(settings):
    """The broker at an address where nothing listens."""
    from config.celery import app

    original = app.conf.broker_write_url
    app.conf.broker_write_url = "amqp://guest:guest@127.0.0.1:1//"
    settings.READINESS_TIMEOUT = 1
    yield
    app.conf.broker_write_url = original


def test_readiness_is_503_and_names_a_broker_that_is_down(client, broker_down, caplog):
    # when anyone (a load balancer) asks for readiness while the broker is down
    with caplog.at_level(logging.WARNING, logger="monitoring.apis"):
        response = client.get("/health/ready")
    # then readiness fails and says which check failed, and the kind of failure only:
    # what failed (the services' hosts, ports and users) is in the log
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"]["ok"] is True
    broker = checks["broker"]
    assert broker["ok"] is False and set(broker) == {"ok", "latency_ms", "error"}
    assert broker["error"] == "timed out" or broker["error"].endswith(
        "(details in the log)"), broker
    assert "127.0.0.1" not in response.content.decode()
    assert any(record.getMessage().startswith("readiness: broker failed: ")
               and len(record.getMessage()) > len("readiness: broker failed: ")
               for record in caplog.records)


def test_readiness_shows_a_staff_user_what_failed(client, broker_down, user_factory,
                                                  wf_admin):
    # given a user who is not staff, and one who is
    staff = user_factory(username="operator-staff", is_staff=True)
    # then only the staff user is shown what failed
    client.login(username=wf_admin.username, password=PASSWORD)
    assert "detail" not in client.get("/health/ready").json()["checks"]["broker"]
    client.login(username=staff.username, password=PASSWORD)
    broker = client.get("/health/ready").json()["checks"]["broker"]
    assert broker["ok"] is False and broker["detail"] and broker["detail"] != broker["error"]


def test_metrics_are_exposed_for_prometheus_with_the_metrics_token(client):
    client.get("/health")
    response = client.get("/metrics", headers=METRICS_HEADERS)
    assert response.status_code == 200
    text = response.content.decode()
    assert "django_http_requests_total_by_method_total" in text


@pytest.mark.parametrize("authorization", [
    None, "Bearer wrong-token-of-the-same-size", f"Basic {METRICS_TOKEN}", METRICS_TOKEN,
    f"Bearer {METRICS_TOKEN}x", "Bearer ",
])
def test_metrics_refuse_a_request_without_the_token(client, authorization):
    # given a request without the metrics token, or with a wrong one
    headers = {"Authorization": authorization} if authorization else {}
    # when it asks for /metrics
    response = client.get("/metrics", headers=headers)
    # then it is refused, says what is needed, and shows no figure
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert "METRICS_TOKEN" in response.content.decode()
    assert "weft_" not in response.content.decode()


def test_metrics_are_served_to_staff_users_and_no_other_user(client, settings, user_factory,
                                                             wf_admin):
    # given no metrics token configured
    settings.METRICS_TOKEN = ""
    # then a scraper sending some token is refused, and told the token is not set
    refused = client.get("/metrics", headers={"Authorization": "Bearer anything-at-all-here"})
    assert refused.status_code == 401 and "is not set" in refused.content.decode()
    # and a signed-in user who is not staff (a workflow admin) is refused
    client.login(username=wf_admin.username, password=PASSWORD)
    assert client.get("/metrics").status_code == 401
    # and a signed-in staff user reads the figures
    staff = user_factory(username="operator-staff", is_staff=True)
    client.login(username=staff.username, password=PASSWORD)
    response = client.get("/metrics")
    assert response.status_code == 200 and "weft_" in response.content.decode()


def test_correlation_id_is_echoed_or_made(client):
    echoed = client.get("/health", HTTP_X_CORRELATION_ID="abc-123")
    assert echoed["X-Correlation-ID"] == "abc-123"
    made = client.get("/health")
    assert len(made["X-Correlation-ID"]) == 32
    hostile = client.get("/health", HTTP_X_CORRELATION_ID="bad id\n{}")
    assert hostile["X-Correlation-ID"] != "bad id\n{}"


def test_log_lines_are_json_with_the_correlation_id():
    # given the platform's console handler
    from monitoring.correlation import bound
    from monitoring.logging import ContextFilter

    handler = next(h for h in logging.getLogger().handlers
                   if any(isinstance(f, ContextFilter) for f in h.filters))
    record = logging.LogRecord("workflows", logging.INFO, __file__, 1, "hello %s", ("you",), None)
    # when a record is handled inside a request's context
    with bound("corr-7"):
        assert handler.filter(record)
        line = handler.format(record)
    # then the line is one JSON object naming the correlation id
    parsed = json.loads(line)
    assert parsed["correlation_id"] == "corr-7"
    assert parsed["message"] == "hello you" and parsed["level"] == "INFO"


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_readiness_is_200_while_a_websocket_is_open(web, viewer, definition):
    # given a websocket open on the real web server, its consumer receiving from the layer
    import httpx
    from asgiref.sync import async_to_sync

    from config.tokens import access_token_issue
    from executions.models import Execution
    from tests.engine import workflow_from
    from tests.servers import receive_json

    workflow = workflow_from(definition())
    execution = Execution.objects.create(workflow=workflow, version=workflow.current_version)
    token = str(access_token_issue(user=viewer))

    async def probe_while_open():
        async with web.websocket(f"/ws/executions/{execution.pk}/?token={token}") as websocket:
            await receive_json(websocket)
            async with httpx.AsyncClient() as client:
                return await client.get(web.url("/health/ready"), timeout=20)

    # when readiness is asked meanwhile
    response = async_to_sync(probe_while_open)()
    # then every check answers, the channel layer's too
    assert response.status_code == 200, response.json()
    assert response.json()["checks"]["channel_layer"]["ok"] is True
