"""The management commands the Quick start runs: ensure_admin and load_demo."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from workflows.models import Workflow

pytestmark = pytest.mark.django_db


def test_load_demo_is_idempotent():
    out = StringIO()
    call_command("load_demo", stdout=out)
    workflow = Workflow.objects.get(namespace="demo", name="order-approval")
    assert workflow.current_version.number == 1
    assert "created" in out.getvalue()
    again = StringIO()
    call_command("load_demo", stdout=again)
    assert "unchanged" in again.getvalue()
    assert Workflow.objects.get(pk=workflow.pk).current_version.number == 1


def test_ensure_admin_prints_a_generated_password_once(monkeypatch):
    monkeypatch.delenv("WEFT_ADMIN_PASSWORD", raising=False)
    monkeypatch.setenv("WEFT_ADMIN_USERNAME", "boss")
    out = StringIO()
    call_command("ensure_admin", stdout=out)
    password = out.getvalue().split("password: ")[1].split()[0]
    user = get_user_model().objects.get(username="boss")
    assert user.is_superuser and user.check_password(password)
    second = StringIO()
    call_command("ensure_admin", stdout=second)
    assert password not in second.getvalue()


def test_ensure_admin_takes_the_password_from_the_environment(monkeypatch):
    monkeypatch.setenv("WEFT_ADMIN_USERNAME", "ops")
    monkeypatch.setenv("WEFT_ADMIN_PASSWORD", "from-the-env-123")
    out = StringIO()
    call_command("ensure_admin", stdout=out)
    assert "from-the-env-123" not in out.getvalue()
    assert get_user_model().objects.get(username="ops").check_password("from-the-env-123")


def test_ensure_admin_treats_an_empty_password_as_unset(monkeypatch):
    monkeypatch.setenv("WEFT_ADMIN_USERNAME", "")
    monkeypatch.setenv("WEFT_ADMIN_PASSWORD", "")
    out = StringIO()
    call_command("ensure_admin", stdout=out)
    password = out.getvalue().split("password: ")[1].split()[0]
    assert get_user_model().objects.get(username="admin").check_password(password)
