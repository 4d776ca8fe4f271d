"""Webhook triggers API: the URL is shown once; the token and the secret never come back."""

from __future__ import annotations

import hashlib
import hmac
import time

import pytest
from rest_framework.throttling import SimpleRateThrottle

from executions.models import Execution
from monitoring.models import AuditLog
from tests.engine import workflow_from
from workflows.models import WebhookTrigger
from workflows.triggers import webhooks

pytestmark = pytest.mark.django_db

SECRET = "a-signing-secret-of-some-length"


@pytest.fixture
def workflow(definition):
    return workflow_from(definition())


@pytest.fixture
def created(client_for, designer, workflow):
    response = client_for(designer).post("/api/webhooks", {
        "workflow": str(workflow.pk), "name": "shop", "signing_secret": SECRET,
        "rate_limit": 10}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def token_of(url: str) -> str:
    return url.rsplit("/", 1)[1]


def test_create_shows_the_url_once_and_stores_only_its_hash(created):
    token = token_of(created["url"])
    assert created["url"].startswith("http://testserver/api/hooks/")
    assert created["token_hint"] == token[:len(created["token_hint"])]
    assert created["has_signing_secret"] is True and "signing_secret" not in created
    stored = WebhookTrigger.objects.get(pk=created["id"])
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert SECRET.encode() not in bytes(stored.signing_secret)


def test_the_token_and_the_secret_are_never_returned_again(client_for, viewer, created):
    token = token_of(created["url"])
    client = client_for(viewer)
    listed = client.get("/api/webhooks")
    detail = client.get(f"/api/webhooks/{created['id']}")

    for response in (listed, detail):
        assert response.status_code == 200
        assert token not in response.content.decode()
        assert SECRET not in response.content.decode()
    assert "url" not in detail.json()
    assert detail.json()["has_signing_secret"] is True


def test_list_filters_by_workflow(client_for, viewer, created, definition):
    other = workflow_from(definition(name="other"))
    client = client_for(viewer)

    mine = client.get("/api/webhooks", {"workflow": created["workflow"]}).json()["results"]
    theirs = client.get("/api/webhooks", {"workflow": str(other.pk)}).json()["results"]

    assert [hook["id"] for hook in mine] == [created["id"]]
    assert theirs == []


def test_update_changes_settings_and_can_remove_the_secret(client_for, designer, created):
    response = client_for(designer).patch(f"/api/webhooks/{created['id']}", {
        "enabled": False, "signing_secret": None, "timestamp_header": ""}, format="json")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["enabled"], body["has_signing_secret"], body["timestamp_header"]) == (
        False, False, "")
    assert body["token_hint"] == created["token_hint"]


def test_rotate_returns_a_new_url_once_and_the_old_stops(client_for, designer, anonymous,
                                                           created):
    old = created["url"]

    response = client_for(designer).post(f"/api/webhooks/{created['id']}/rotate")

    assert response.status_code == 200
    new = response.json()["url"]
    assert new != old and response.json()["rotated_at"]
    assert anonymous.post(old, {}, format="json").status_code == 404
    stored = WebhookTrigger.objects.get(pk=created["id"])
    assert stored.token_hash == hashlib.sha256(token_of(new).encode()).hexdigest()
    assert AuditLog.objects.filter(object_type="webhook", action="rotate").count() == 1


def test_delete_removes_the_hook(client_for, designer, anonymous, created):
    assert client_for(designer).delete(f"/api/webhooks/{created['id']}").status_code == 204
    assert not WebhookTrigger.objects.exists()
    assert anonymous.post(created["url"], {}, format="json").status_code == 404


def test_reading_needs_workflow_read_and_changing_workflow_write(client_for, viewer, nobody,
                                                                 created, workflow):
    assert client_for(nobody).get("/api/webhooks").status_code == 403
    for response in (
        client_for(viewer).post("/api/webhooks", {"workflow": str(workflow.pk)}, format="json"),
        client_for(viewer).patch(f"/api/webhooks/{created['id']}", {"enabled": False},
                                 format="json"),
        client_for(viewer).post(f"/api/webhooks/{created['id']}/rotate"),
        client_for(viewer).delete(f"/api/webhooks/{created['id']}"),
    ):
        assert response.status_code == 403


@pytest.mark.parametrize(("body", "field"), [
    ({"workflow": "not-a-uuid"}, "workflow"),
    ({"name": "Bad Name!"}, "name"),
    ({"signing_secret": "short"}, "signing_secret"),
    ({"rate_limit": -1}, "rate_limit"),
    ({"max_body_bytes": 0}, "max_body_bytes"),
    ({"signature_header": "X Bad"}, "signature_header"),
])
def test_bad_input_is_a_400_naming_the_field(client_for, designer, workflow, body, field):
    response = client_for(designer).post("/api/webhooks", {"workflow": str(workflow.pk), **body},
                                       format="json")

    assert response.status_code == 400
    assert field in response.json()["details"]["fields"]


def test_a_second_hook_with_the_same_name_is_a_conflict(client_for, designer, created):
    response = client_for(designer).post("/api/webhooks", {
        "workflow": created["workflow"], "name": "shop"}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "webhook_exists"


def signed_post(client, token: str, body: bytes, *, at: int, key: str = ""):
    digest = hmac.new(SECRET.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    headers = {"HTTP_X_WEFT_SIGNATURE": f"sha256={digest}", "HTTP_X_WEFT_TIMESTAMP": str(at)}
    if key:
        headers["HTTP_IDEMPOTENCY_KEY"] = key
    return client.generic("POST", f"/api/hooks/{token}", body, content_type="application/json",
                          **headers)


def test_a_signed_request_sent_again_inside_its_window_is_refused(anonymous, workflow):
    # given a signed hook and one request signed now
    _, token = webhooks.webhook_create(workflow=workflow, actor=None, signing_secret=SECRET)
    body, at = b'{"order": 1}', int(time.time())
    first = signed_post(anonymous, token, body, at=at, key="first")
    # when the same signed request comes again with another or no Idempotency-Key
    replays = [signed_post(anonymous, token, body, at=at, key="second"),
               signed_post(anonymous, token, body, at=at)]
    # then it is refused, starting nothing
    assert first.status_code == 202, first.json()
    for replay in replays:
        assert replay.status_code == 409, replay.json()
        assert replay.json()["code"] == "signature_replayed"
    # while the sender's retry with its first key answers the first run, and a request
    # signed anew starts a new one
    retry = signed_post(anonymous, token, body, at=at, key="first")
    assert retry.status_code == 202 and retry.json()["execution"] == first.json()["execution"]
    assert signed_post(anonymous, token, body, at=at - 1).status_code == 202
    assert Execution.objects.count() == 2


def test_the_hook_url_has_the_triggers_rate_limit_only(anonymous, workflow, monkeypatch):
    # given a per-address API limit of 2 a minute and a trigger that accepts 5
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "user", "2/min")
    _, token = webhooks.webhook_create(workflow=workflow, actor=None, rate_limit=5)
    # when one address posts 6 times
    statuses = [anonymous.post(f"/api/hooks/{token}", {}, format="json").status_code
                for _ in range(6)]
    # then the trigger's limit decides
    assert statuses == [202] * 5 + [429]


def test_an_editor_without_execute_cannot_arm_a_webhook(client_for, editor, created, workflow):
    # given an editor (workflow.write, no workflow.execute) and a disabled hook
    client = client_for(editor)
    WebhookTrigger.objects.filter(pk=created["id"]).update(enabled=False)
    # when the editor creates an enabled hook, enables or rotates the existing one
    refused = [
        client.post("/api/webhooks", {"workflow": str(workflow.pk), "name": "mine"},
                    format="json"),
        client.patch(f"/api/webhooks/{created['id']}", {"enabled": True}, format="json"),
        client.post(f"/api/webhooks/{created['id']}/rotate"),
    ]
    # then each is refused, and no URL was made or handed out
    for response in refused:
        assert response.status_code == 403, response.json()
        assert response.json()["code"] == "permission_denied"
        assert "url" not in response.json()
    assert list(WebhookTrigger.objects.values_list("name", "enabled")) == [("shop", False)]
    # while making a disabled hook (no URL that starts runs) needs workflow.write only
    draft = client.post("/api/webhooks", {"workflow": str(workflow.pk), "name": "draft",
                                          "enabled": False}, format="json")
    assert draft.status_code == 201
