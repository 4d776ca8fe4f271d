"""Secrets: encrypted at rest, write-only over the API, never in responses, logs or admin."""

from __future__ import annotations

import json
import logging

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command

from monitoring.models import AuditLog
from workflows import encryption, selectors
from workflows.models import Secret

pytestmark = pytest.mark.django_db

VALUE = "s3cr3t-Value-that-must-never-leak"


@pytest.fixture
def stored(client_for, wf_admin):
    response = client_for(wf_admin).post(
        "/api/secrets", {"name": "shop_token", "value": VALUE, "description": "Shop API"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    return response


def test_create_returns_no_value(stored):
    assert stored.json().keys() == {"name", "description", "created_by", "created_at",
                                    "updated_at"}
    assert VALUE not in stored.content.decode()


def test_value_is_encrypted_at_rest_and_decrypts_for_nodes(stored):
    secret = Secret.objects.get(name="shop_token")
    assert VALUE.encode() not in bytes(secret.ciphertext)
    assert selectors.secret_value(name="shop_token") == VALUE


def test_no_response_ever_contains_the_value(client_for, wf_admin, editor, stored):
    admin = client_for(wf_admin)
    responses = [
        admin.get("/api/secrets"),
        admin.get("/api/secrets/shop_token"),
        client_for(editor).get("/api/secrets"),
        admin.patch("/api/secrets/shop_token", {"description": "changed"}, format="json"),
        admin.get("/api/audit"),
    ]
    for response in responses:
        assert response.status_code == 200
        assert VALUE not in response.content.decode()
    assert [s["name"] for s in responses[0].json()["results"]] == ["shop_token"]


def test_update_replaces_the_value(client_for, wf_admin, stored):
    response = client_for(wf_admin).put(
        "/api/secrets/shop_token", {"value": "new-value"}, format="json"
    )
    assert response.status_code == 200
    assert selectors.secret_value(name="shop_token") == "new-value"
    entry = AuditLog.objects.filter(object_type="secret", action="update").get()
    assert entry.after["value_changed"] is True
    assert "new-value" not in json.dumps([entry.before, entry.after])


def test_delete(client_for, wf_admin, stored):
    assert client_for(wf_admin).delete("/api/secrets/shop_token").status_code == 204
    assert not Secret.objects.exists()


def test_duplicate_name_is_409(client_for, wf_admin, stored):
    response = client_for(wf_admin).post(
        "/api/secrets", {"name": "shop_token", "value": "x"}, format="json"
    )
    assert response.status_code == 409 and response.json()["code"] == "secret_exists"


def test_bad_name_names_the_field(client_for, wf_admin):
    response = client_for(wf_admin).post(
        "/api/secrets", {"name": "bad name!", "value": "x"}, format="json"
    )
    assert response.status_code == 400
    assert "name" in response.json()["details"]["fields"]


def test_editors_see_names_but_cannot_change(client_for, editor, stored):
    client = client_for(editor)
    assert client.get("/api/secrets").status_code == 200
    created = client.post("/api/secrets", {"name": "x", "value": "y"}, format="json")
    assert created.status_code == 403
    assert client.delete("/api/secrets/shop_token").status_code == 403


def test_viewers_and_anonymous_see_nothing(client_for, viewer, anonymous, stored):
    assert client_for(viewer).get("/api/secrets").status_code == 403
    assert anonymous.get("/api/secrets").status_code == 401


def test_value_never_reaches_the_logs(client_for, wf_admin, caplog):
    caplog.set_level(logging.DEBUG)
    client = client_for(wf_admin)
    client.post("/api/secrets", {"name": "logged", "value": VALUE}, format="json")
    client.put("/api/secrets/logged", {"value": VALUE + "2"}, format="json")
    assert VALUE not in caplog.text


def test_admin_pages_never_show_the_value(client, wf_admin, stored):
    wf_admin.is_staff = True
    wf_admin.save()
    client.force_login(wf_admin)
    secret = Secret.objects.get(name="shop_token")
    for url in ["/admin/workflow/secret/", f"/admin/workflow/secret/{secret.pk}/change/"]:
        page = client.get(url)
        assert page.status_code == 200
        assert VALUE not in page.content.decode()


def test_admin_keeps_the_value_when_the_field_is_left_empty(client, wf_admin, stored):
    wf_admin.is_staff = True
    wf_admin.save()
    client.force_login(wf_admin)
    secret = Secret.objects.get(name="shop_token")
    response = client.post(
        f"/admin/workflow/secret/{secret.pk}/change/",
        {"description": "edited in the admin", "value": ""},
    )
    assert response.status_code == 302
    assert selectors.secret_value(name="shop_token") == VALUE
    assert Secret.objects.get(pk=secret.pk).description == "edited in the admin"


def test_key_rotation_reencrypts_with_the_new_key(stored, settings):
    # given a secret encrypted with the current key
    old_key = Fernet.generate_key().decode()
    settings.SECRETS_KEYS = [old_key]
    Secret.objects.filter(name="shop_token").update(ciphertext=encryption.encrypt(VALUE))
    # when a new key is prepended and the rotation command runs
    new_key = Fernet.generate_key().decode()
    settings.SECRETS_KEYS = [new_key, old_key]
    call_command("secrets_rotate")
    # then the value decrypts with the new key alone
    settings.SECRETS_KEYS = [new_key]
    assert selectors.secret_value(name="shop_token") == VALUE
    assert AuditLog.objects.filter(action="rotate").exists()
