"""JWT login, refresh and the current user."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from monitoring.models import AuditLog
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def login(client: APIClient, **body):
    return client.post("/api/auth/login", body, format="json")


def test_login_by_username_returns_tokens_and_user(anonymous, editor):
    response = login(anonymous, username="editor", password=PASSWORD)
    assert response.status_code == 200
    body = response.json()
    assert body["token"] and body["refresh"] and body["expires"]
    assert body["user"]["username"] == "editor"
    assert body["user"]["permissions"] == ["workflow.read", "workflow.write"]


def test_login_by_email(anonymous, editor):
    response = login(anonymous, email="editor@example.com", password=PASSWORD)
    assert response.status_code == 200
    assert response.json()["user"]["username"] == "editor"


def test_bearer_token_authenticates(anonymous, viewer):
    token = login(anonymous, username="viewer", password=PASSWORD).json()["token"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.get("/api/workflows").status_code == 200
    assert client.get("/api/auth/me").json()["username"] == "viewer"


def test_wrong_password_is_401_and_audited(anonymous, editor):
    response = login(anonymous, username="editor", password="wrong")
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"
    assert AuditLog.objects.filter(action="login_failed", object_repr="editor").exists()


def test_login_without_credentials_names_the_field(anonymous):
    response = login(anonymous, password="x")
    assert response.status_code == 400
    assert "username" in response.json()["details"]["fields"]
    response = login(anonymous, username="x")
    assert "password" in response.json()["details"]["fields"]


def test_garbage_token_is_401(anonymous):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    response = client.get("/api/workflows")
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


def test_refresh_rotates_and_revokes_the_used_token(anonymous, editor):
    refresh = login(anonymous, username="editor", password=PASSWORD).json()["refresh"]
    response = anonymous.post("/api/auth/refresh", {"refresh": refresh}, format="json")
    assert response.status_code == 200
    assert response.json()["token"] and response.json()["refresh"] != refresh
    reused = anonymous.post("/api/auth/refresh", {"refresh": refresh}, format="json")
    assert reused.status_code == 401


def test_refresh_with_garbage_is_401(anonymous):
    response = anonymous.post("/api/auth/refresh", {"refresh": "nope"}, format="json")
    assert response.status_code == 401


def test_login_is_throttled(anonymous, editor, monkeypatch):
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "login", "3/min")
    statuses = [login(anonymous, username="editor", password="bad").status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    response = login(anonymous, username="editor", password=PASSWORD)
    assert response.json()["code"] == "throttled"
    assert response.json()["details"]["retry_after"] > 0


def test_api_requests_are_throttled_per_user(client_for, viewer, editor, monkeypatch):
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "user", "2/min")
    viewer_client = client_for(viewer)
    assert [viewer_client.get("/api/workflows").status_code for _ in range(3)] == [200, 200, 429]
    assert client_for(editor).get("/api/workflows").status_code == 200


def test_me_needs_authentication(anonymous):
    assert anonymous.get("/api/auth/me").status_code == 401
