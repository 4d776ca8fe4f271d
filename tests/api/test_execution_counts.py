"""Executions per status under the list's filters (`GET /api/executions/counts`)."""

from __future__ import annotations

import pytest

from executions import services
from tests.engine import workflow_from

pytestmark = pytest.mark.django_db

STATUSES = {"pending", "running", "waiting", "paused", "suspended", "completed", "failed",
            "cancelled"}


def _flow(name: str):
    return workflow_from({"name": name, "namespace": "counts", "nodes": [
        {"id": "ask", "type": "UserAction", "data": {"assignee": "x", "prompt": "?"}}]})


def test_counts_name_every_status_under_the_filters_but_status(client_for, viewer):
    # given two runs of one workflow, one of them cancelled, and a run of another
    first, other = _flow("first"), _flow("other")
    kept, _ = services.execution_start(workflow=first, input={})
    cancelled, _ = services.execution_start(workflow=first, input={})
    services.execution_cancel(execution=cancelled)
    services.execution_start(workflow=other, input={})
    reader = client_for(viewer)

    # when the counts of the first workflow are read, with a status chosen
    response = reader.get("/api/executions/counts",
                          {"workflow": "counts/first", "status": "cancelled"})

    # then every status is named, and the chosen status does not hide the others
    assert response.status_code == 200, response.json()
    counts = response.json()
    assert set(counts) == STATUSES
    kept.refresh_from_db()
    assert counts["cancelled"] == 1 and counts[kept.status] == 1
    assert sum(counts.values()) == 2
    assert sum(reader.get("/api/executions/counts").json().values()) == 3


def test_counts_refuse_a_bad_filter_naming_it(client_for, viewer):
    response = client_for(viewer).get("/api/executions/counts", {"workflow": "no reference"})
    assert response.status_code == 400
    assert "workflow" in response.json()["details"]["fields"]
    bad_date = client_for(viewer).get("/api/executions/counts", {"created_after": "yesterday"})
    assert bad_date.status_code == 400 and "created_after" in bad_date.json()["details"]["fields"]
    # and a filter the counts do not read, rather than counting everything
    misspelt = client_for(viewer).get("/api/executions/counts", {"workflw": "counts/first"})
    assert misspelt.status_code == 400
    assert list(misspelt.json()["details"]["fields"]) == ["workflw"]


def test_counts_need_a_login(anonymous):
    assert anonymous.get("/api/executions/counts").status_code == 401
