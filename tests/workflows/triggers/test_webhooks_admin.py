"""The webhook triggers' admin: created through the service, the URL shown once."""

from __future__ import annotations

import hashlib
import re

import pytest
from django.contrib.messages import get_messages

from monitoring.models import AuditLog
from tests.engine import workflow_from
from workflows.models import WebhookTrigger
from workflows.triggers import webhooks

pytestmark = pytest.mark.django_db

URL = re.compile(r"http://testserver/api/hooks/([\w-]+)")


@pytest.fixture
def operator_client(client, wf_admin):
    wf_admin.is_staff = True
    wf_admin.save()
    client.force_login(wf_admin)
    return client


def shown_tokens(response) -> list[str]:
    return [match for message in get_messages(response.wsgi_request)
            for match in URL.findall(str(message))]


def test_adding_a_hook_shows_its_url_once_and_stores_its_hash(operator_client, definition):
    workflow = workflow_from(definition())

    response = operator_client.post("/admin/workflow/webhooktrigger/add/", {
        "workflow": str(workflow.pk), "name": "shop", "enabled": "on",
        "new_signing_secret": "a-signing-secret-of-some-length",
        "signature_header": "X-Weft-Signature", "timestamp_header": "X-Weft-Timestamp",
        "tolerance": 300, "max_body_bytes": 1024, "rate_limit": 5})

    assert response.status_code == 302
    [token] = shown_tokens(response)
    trigger = WebhookTrigger.objects.get()
    assert trigger.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert trigger.signing_secret is not None and trigger.rate_limit == 5
    assert AuditLog.objects.filter(object_type="webhook", action="create").exists()
    first = operator_client.get("/admin/workflow/webhooktrigger/").content.decode()
    again = operator_client.get("/admin/workflow/webhooktrigger/").content.decode()
    assert token in first  # the message, once
    assert trigger.token_hint in again and token not in again


def test_the_rotate_action_shows_a_new_url(operator_client, definition):
    trigger, old = webhooks.webhook_create(workflow=workflow_from(definition()), actor=None)

    response = operator_client.post("/admin/workflow/webhooktrigger/", {
        "action": "rotate", "_selected_action": [str(trigger.pk)]})

    [new] = shown_tokens(response)
    assert new != old
    assert webhooks.webhook_find(token=old) is None
    assert webhooks.webhook_find(token=new).pk == trigger.pk


def test_an_editor_without_execute_cannot_add_or_rotate_a_hook_in_the_admin(client, editor,
                                                                            definition):
    # given a staff editor (workflow.write, no workflow.execute) and a hook
    editor.is_staff = True
    editor.save()
    client.force_login(editor)
    workflow = workflow_from(definition())
    trigger, _ = webhooks.webhook_create(workflow=workflow, actor=None)
    # when they add an enabled hook and rotate the existing one
    added = client.post("/admin/workflow/webhooktrigger/add/", {
        "workflow": str(workflow.pk), "name": "mine", "enabled": "on",
        "signature_header": "X-Weft-Signature", "timestamp_header": "X-Weft-Timestamp",
        "tolerance": 300, "max_body_bytes": 1024, "rate_limit": 5})
    rotated = client.post("/admin/workflow/webhooktrigger/", {
        "action": "rotate", "_selected_action": [str(trigger.pk)]})
    # then both are refused with a message, no URL is shown and nothing changed
    for response in (added, rotated):
        assert response.status_code == 302
        assert shown_tokens(response) == []
        assert any("workflow.execute" in str(message)
                   for message in get_messages(response.wsgi_request))
    assert list(WebhookTrigger.objects.values_list("name", "token_hash")) == [
        ("default", trigger.token_hash)]
