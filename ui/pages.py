"""The web UI's pages: a server-rendered frame (navigation, the user, the page's props)
around one React entry per page, built by Vite from `frontend/`."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.urls import reverse

from config.auth import WORKFLOW_PERMISSIONS

NAVIGATION = [
    ("workflows", "Workflows", "ui-workflows"),
    ("runs", "Runs", "ui-runs"),
    ("dashboard", "Dashboard", "ui-dashboard"),
    ("inbox", "Approvals", "ui-inbox"),
    ("triggers", "Schedules & webhooks", "ui-triggers"),
]


def _flower_url() -> str:
    """Flower for staff users: FLOWER_URL, or the platform's own /flower/ when it serves it."""
    if settings.FLOWER_URL or not settings.FLOWER_INTERNAL_URL:
        return settings.FLOWER_URL
    return reverse("flower")


def _page(request: HttpRequest, *, entry: str, title: str, section: str,
          **props: Any) -> HttpResponse:
    user = request.user
    context = {
        "entry": f"src/pages/{entry}.tsx",
        "title": title,
        "section": section,
        "navigation": [(key, label, reverse(name)) for key, label, name in NAVIGATION],
        "flower_url": _flower_url() if user.is_staff else "",
        "props": {
            "page": entry,
            "csrfToken": get_token(request),
            "user": {
                "username": user.get_username(),
                "isStaff": user.is_staff,
                "permissions": [perm for perm in WORKFLOW_PERMISSIONS if user.has_perm(perm)],
            },
            **props,
        },
    }
    return render(request, "ui/page.html", context)


@login_required
def workflows(request: HttpRequest) -> HttpResponse:
    """`/`: the workflows, with their last run; create, import, instantiate a template."""
    return _page(request, entry="workflows", title="Workflows", section="workflows")


@login_required
def designer(request: HttpRequest, id: UUID | None = None) -> HttpResponse:  # noqa: A002
    """The canvas of one workflow (`/workflows/<id>/`), or of a new one (`/workflows/new/`)."""
    return _page(request, entry="designer", title="Designer", section="workflows",
                 workflowId=str(id) if id else None)


@login_required
def runs(request: HttpRequest) -> HttpResponse:
    """`/runs/`: every execution the user may read, filtered, updated live."""
    return _page(request, entry="runs", title="Runs", section="runs")


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """`/dashboard/`: how the runs went over a time range, and the platform's moving parts
    now (queues, caches, locks, workers)."""
    return _page(request, entry="dashboard", title="Dashboard", section="dashboard")


@login_required
def monitor(request: HttpRequest, id: UUID) -> HttpResponse:  # noqa: A002
    """`/runs/<id>/`: one execution on its graph, live."""
    return _page(request, entry="monitor", title="Run", section="runs", executionId=str(id))


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    """`/inbox/`: the approvals the user can answer."""
    return _page(request, entry="inbox", title="Approvals", section="inbox")


@login_required
def triggers(request: HttpRequest) -> HttpResponse:
    """`/triggers/`: schedules and webhooks."""
    return _page(request, entry="triggers", title="Schedules & webhooks", section="triggers")
