"""JWT login, refresh and the current user."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from prometheus_client import REGISTRY
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from config.tokens import tokens_issue
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


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.mark.django_db(transaction=True)
def test_concurrent_refreshes_of_one_token_succeed_once(viewer):
    # given one refresh token
    refresh = str(tokens_issue(user=viewer))
    start = threading.Barrier(6)
    statuses: list[int] = []

    def use() -> None:
        try:
            start.wait()
            response = APIClient().post("/api/auth/refresh", {"refresh": refresh},
                                        format="json")
            statuses.append(response.status_code)
        finally:
            connection.close()

    # when six clients refresh it at the same moment, each on its own connection
    threads = [threading.Thread(target=use) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then one gets a new pair and the other five are refused
    assert sorted(statuses) == [200] + [401] * 5


def test_logout_revokes_the_refresh_token(anonymous, viewer):
    # given a signed-in user
    refresh = login(anonymous, username="viewer", password=PASSWORD).json()["refresh"]
    # when they log out
    response = anonymous.post("/api/auth/logout", {"refresh": refresh}, format="json")
    # then the refresh token no longer refreshes
    assert response.status_code == 204
    again = anonymous.post("/api/auth/refresh", {"refresh": refresh}, format="json")
    assert again.status_code == 401
    assert anonymous.post("/api/auth/logout", {"refresh": "nope"},
                          format="json").status_code == 401


def test_a_new_password_revokes_every_token_issued_before(anonymous, viewer):
    # given a user signed in twice
    first = login(anonymous, username="viewer", password=PASSWORD).json()
    second = login(anonymous, username="viewer", password=PASSWORD).json()
    # when their password changes
    viewer.set_password("another-long-passphrase-entirely")
    viewer.save()
    # then neither the access tokens nor the refresh tokens work any more
    for tokens in (first, second):
        response = bearer(tokens["token"]).get("/api/auth/me")
        assert response.status_code == 401
        assert "revoked" in response.json()["message"]
        refreshed = anonymous.post("/api/auth/refresh", {"refresh": tokens["refresh"]},
                                   format="json")
        assert refreshed.status_code == 401
    # while a login with the new password works
    fresh = login(anonymous, username="viewer", password="another-long-passphrase-entirely")
    assert bearer(fresh.json()["token"]).get("/api/auth/me").status_code == 200


def test_deactivation_revokes_the_tokens_for_good(anonymous, viewer, client):
    # given a signed-in user and a superuser in the admin
    tokens = login(anonymous, username="viewer", password=PASSWORD).json()
    admin_user = type(viewer).objects.create_superuser("root", "root@example.com", PASSWORD)
    client.force_login(admin_user)
    form = {"username": "viewer", "email": viewer.email, "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00", "groups": list(viewer.groups.values_list("pk",
                                                                                  flat=True))}
    # when the admin deactivates the user, and later activates them again
    response = client.post(f"/admin/auth/user/{viewer.pk}/change/", form)
    assert response.status_code == 302, response.content
    viewer.refresh_from_db()
    assert not viewer.is_active
    refused_access = bearer(tokens["token"]).get("/api/auth/me")
    viewer.is_active = True
    viewer.save()
    # then the access token was refused while inactive, and the refresh token stays revoked
    assert refused_access.status_code == 401
    refreshed = anonymous.post("/api/auth/refresh", {"refresh": tokens["refresh"]},
                               format="json")
    assert refreshed.status_code == 401


def test_an_expired_token_is_refused_saying_expired(anonymous, viewer):
    # given an access and a refresh token whose lifetime is over
    refresh = tokens_issue(user=viewer)
    access = refresh.access_token
    past = timezone.now() - timedelta(days=30)
    access.set_exp(from_time=past)
    refresh.set_exp(from_time=past)
    # when they are used
    used = bearer(str(access)).get("/api/auth/me")
    refreshed = anonymous.post("/api/auth/refresh", {"refresh": str(refresh)}, format="json")
    # then both answers say the token expired
    for response in (used, refreshed):
        assert response.status_code == 401
        assert response.json()["code"] == "authentication_failed"
        assert "expired" in response.json()["message"]


# --- brute force: throttles on the trusted address, audited failures --------------------------

def security_events(event: str) -> float:
    return REGISTRY.get_sample_value("weft_security_events_total", {"event": event}) or 0.0


def test_the_login_throttle_ignores_a_client_supplied_forwarded_header(anonymous, editor,
                                                                       monkeypatch):
    # given a login limit of 3 a minute and no trusted proxy
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "login", "3/min")
    # when one address guesses with a new X-Forwarded-For each time
    statuses = [anonymous.post("/api/auth/login", {"username": "editor", "password": "bad"},
                               format="json", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").status_code
                for n in range(4)]
    # then the header changes nothing: the fourth attempt is throttled
    assert statuses == [401, 401, 401, 429]
    assert set(AuditLog.objects.filter(action="login_failed").values_list(
        "client_address", flat=True)) == {"127.0.0.1"}


def test_behind_a_trusted_proxy_its_entry_is_the_client(anonymous, editor, monkeypatch,
                                                        settings):
    # given one trusted proxy, which appends the address it saw to X-Forwarded-For
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "login", "2/min")
    settings.TRUSTED_PROXIES = 1
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}

    def attempt(forwarded: str) -> int:
        return anonymous.post("/api/auth/login", {"username": "editor", "password": "bad"},
                              format="json", HTTP_X_FORWARDED_FOR=forwarded).status_code

    # when one client claims other addresses before the proxy's entry, and another client
    # comes through the same proxy
    first = [attempt(f"10.9.9.{n}, 203.0.113.7") for n in range(3)]
    other = attempt("203.0.113.8")
    # then the proxy's entry is the key and the audited address, whatever the client claims
    assert first == [401, 401, 429] and other == 401
    assert sorted(AuditLog.objects.filter(action="login_failed").values_list(
        "client_address", flat=True)) == ["203.0.113.7", "203.0.113.7", "203.0.113.8"]


def test_admin_logins_are_throttled_with_the_api_and_failures_audited(client, anonymous, editor,
                                                                       monkeypatch):
    # given a login limit of 3 a minute, one of them spent on the API
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "login", "3/min")
    login(anonymous, username="editor", password="bad")
    failed_before = security_events("login_failed")
    # when the admin's login form is posted wrong passwords from the same address
    statuses = [client.post("/admin/login/", {"username": "editor", "password": f"bad{n}"},
                            HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").status_code
                for n in range(3)]
    # then the form answers twice and then 429, and each failure is a security event
    assert statuses == [200, 200, 429]
    assert AuditLog.objects.filter(action="login_failed",
                                   object_repr="admin: editor").count() == 2
    assert security_events("login_failed") == failed_before + 2


def test_a_refused_permission_is_a_security_event(client_for, viewer):
    # given a viewer (workflow.read only)
    denied_before = security_events("permission_denied")
    # when they try to create a workflow
    response = client_for(viewer).post("/api/workflows", {"definition": {}}, format="json")
    # then the refusal is in the audit log with who and what, and counted
    assert response.status_code == 403
    entry = AuditLog.objects.get(action="permission_denied")
    assert (entry.actor, entry.object_repr) == (viewer, "POST /api/workflows")
    assert security_events("permission_denied") == denied_before + 1
