"""Webhook triggers on real workers: a secret URL starts a workflow with its body as input."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time

import pytest

from executions.models import Execution
from tests.engine import wait_for, workflow_from
from workflows.models import WebhookTrigger
from workflows.triggers import webhooks

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True),
              pytest.mark.usefixtures("worker")]

SECRET = "a-signing-secret-of-some-length"


def echo_workflow(name: str = "hooked"):
    return workflow_from({
        "name": name, "namespace": "hooks",
        "nodes": [{"id": "echo", "type": "Transform",
                   "data": {"template": {"order": "{{ input.order }}"}}}],
    })


def signed(body: bytes, *, secret: str = SECRET, at: int | None = None) -> dict[str, str]:
    at = int(time.time()) if at is None else at
    digest = hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    return {"HTTP_X_WEFT_SIGNATURE": f"sha256={digest}", "HTTP_X_WEFT_TIMESTAMP": str(at)}


def post(client, token: str, body: bytes, **headers):
    return client.generic("POST", f"/api/hooks/{token}", body,
                          content_type="application/json", **headers)


def test_a_post_starts_the_workflow_with_the_body_as_input(anonymous):
    # given a webhook trigger of a workflow
    trigger, token = webhooks.webhook_create(workflow=echo_workflow(), actor=None)
    # when its URL receives a JSON object
    response = post(anonymous, token, b'{"order": 42}')
    # then the workflow runs with the body as its input
    assert response.status_code == 202, response.json()
    assert response.json().keys() == {"execution", "status"}
    execution = wait_for(Execution.objects.get(pk=response.json()["execution"]))
    assert execution.status == "completed"
    assert execution.input == {"order": 42}
    assert execution.output == {"echo": {"order": 42}}
    assert execution.trigger == "webhook"
    trigger.refresh_from_db()
    assert trigger.last_used_at is not None


def test_a_signed_hook_accepts_only_a_good_recent_signature(anonymous):
    trigger, token = webhooks.webhook_create(workflow=echo_workflow(), signing_secret=SECRET,
                                             actor=None)
    body = b'{"order": 7}'

    good = post(anonymous, token, body, **signed(body))
    missing = post(anonymous, token, body)
    wrong_key = post(anonymous, token, body, **signed(body, secret="another-secret-entirely"))
    tampered = post(anonymous, token, b'{"order": 8}', **signed(body))
    stale = post(anonymous, token, body, **signed(body, at=int(time.time()) - 301))
    no_stamp = post(anonymous, token, body,
                    HTTP_X_WEFT_SIGNATURE=signed(body)["HTTP_X_WEFT_SIGNATURE"])

    assert good.status_code == 202
    assert wait_for(Execution.objects.get(pk=good.json()["execution"])).input == {"order": 7}
    for refused in (missing, wrong_key, tampered):
        assert refused.status_code == 401
        assert refused.json()["code"] == "signature_invalid"
    for refused in (stale, no_stamp):
        assert refused.status_code == 401
        assert refused.json()["code"] == "timestamp_invalid"
    assert Execution.objects.filter(workflow=trigger.workflow).count() == 1


def test_without_a_timestamp_header_the_signature_covers_the_body_alone(anonymous):
    _, token = webhooks.webhook_create(workflow=echo_workflow(), signing_secret=SECRET,
                                       timestamp_header="", actor=None)
    body = b'{"order": 1}'
    digest = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()

    response = post(anonymous, token, body, HTTP_X_WEFT_SIGNATURE=f"sha256={digest}")

    assert response.status_code == 202
    wait_for(Execution.objects.get(pk=response.json()["execution"]))


def test_a_body_over_the_limit_is_refused_with_413(anonymous):
    trigger, token = webhooks.webhook_create(workflow=echo_workflow(), max_body_bytes=64,
                                             actor=None)

    response = post(anonymous, token, json.dumps({"order": "x" * 100}).encode())

    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert not Execution.objects.filter(workflow=trigger.workflow).exists()


def test_requests_over_the_rate_limit_get_429_with_retry_after(anonymous):
    trigger, token = webhooks.webhook_create(workflow=echo_workflow(), rate_limit=2,
                                             actor=None)

    answers = [post(anonymous, token, b"not json") for _ in range(3)]

    assert [answer.status_code for answer in answers] == [400, 400, 429]
    assert 1 <= int(answers[2]["Retry-After"]) <= 60
    assert answers[2].json()["details"]["retry_after"] == int(answers[2]["Retry-After"])


def test_a_body_that_is_not_a_json_object_is_refused_naming_the_body(anonymous):
    _, token = webhooks.webhook_create(workflow=echo_workflow(), actor=None)

    for body in (b"[1, 2]", b"{not json", b'"text"'):
        response = post(anonymous, token, body)
        assert response.status_code == 400
        assert response.json()["code"] == "body_invalid"
        assert "body" in response.json()["details"]["fields"]


def test_an_unknown_token_answers_exactly_like_an_unknown_wait(anonymous):
    trigger, token = webhooks.webhook_create(workflow=echo_workflow(), actor=None)
    webhooks.webhook_update(trigger=trigger, actor=None, enabled=False)

    unknown = post(anonymous, "not-a-token", b"{}")
    disabled = post(anonymous, token, b"{}")

    assert unknown.status_code == disabled.status_code == 404
    assert unknown.json() == disabled.json() == {
        "code": "not_found", "message": webhooks.HOOK_NOT_FOUND, "details": {}}


def test_rotation_stops_the_old_url_at_once(anonymous):
    trigger, old = webhooks.webhook_create(workflow=echo_workflow(), actor=None)

    new = webhooks.webhook_rotate(trigger=trigger, actor=None)

    assert post(anonymous, old, b'{"order": 1}').status_code == 404
    response = post(anonymous, new, b'{"order": 1}')
    assert response.status_code == 202
    wait_for(Execution.objects.get(pk=response.json()["execution"]))


def test_an_idempotency_key_starts_one_execution(anonymous):
    trigger, token = webhooks.webhook_create(workflow=echo_workflow(), actor=None)

    first = post(anonymous, token, b'{"order": 1}', HTTP_IDEMPOTENCY_KEY="delivery-1")
    again = post(anonymous, token, b'{"order": 1}', HTTP_IDEMPOTENCY_KEY="delivery-1")
    other = post(anonymous, token, b'{"order": 2}', HTTP_IDEMPOTENCY_KEY="delivery-2")

    assert first.status_code == again.status_code == other.status_code == 202
    assert first.json()["execution"] == again.json()["execution"] != other.json()["execution"]
    assert Execution.objects.filter(workflow=trigger.workflow).count() == 2
    for answer in (first, other):
        wait_for(Execution.objects.get(pk=answer.json()["execution"]))


def test_only_a_hash_of_the_token_is_stored_and_nothing_secret_is_logged(anonymous, caplog):
    caplog.set_level(logging.DEBUG)
    trigger, token = webhooks.webhook_create(workflow=echo_workflow(), signing_secret=SECRET,
                                             actor=None)
    body = b'{"order": 3}'
    response = post(anonymous, token, body, **signed(body))
    wait_for(Execution.objects.get(pk=response.json()["execution"]))
    assert post(anonymous, token, body).status_code == 401

    stored = WebhookTrigger.objects.get(pk=trigger.pk)
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(stored.__dict__) and SECRET.encode() not in bytes(
        stored.signing_secret)
    assert token not in caplog.text and SECRET not in caplog.text
