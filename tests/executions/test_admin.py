"""Executions in the admin: node runs inline, filters, and control actions."""

from __future__ import annotations

import pytest

from executions import services
from executions.models import Execution
from tests.engine import workflow_from

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator_client(client, user_factory):
    user = user_factory(username="ops", groups=["workflow-operators"], is_staff=True)
    client.force_login(user)
    return client


@pytest.fixture
def execution(editor):
    flow = workflow_from({"name": "admin-run", "nodes": [
        {"id": "a", "type": "Transform", "data": {"template": 1}}], "edges": []}, editor)
    started, _ = services.execution_start(workflow=flow, input={"x": 1})
    return started


def test_execution_list_filters_and_detail_show_node_runs(operator_client, execution):
    listing = operator_client.get("/admin/executions/execution/", {"status__exact": "running"})
    assert listing.status_code == 200 and str(execution.pk) in listing.content.decode()
    detail = operator_client.get(f"/admin/executions/execution/{execution.pk}/change/")
    assert detail.status_code == 200
    assert "Transform" in detail.content.decode()


def test_cancel_action(operator_client, execution):
    response = operator_client.post("/admin/executions/execution/", {
        "action": "cancel", "_selected_action": [str(execution.pk)]})
    assert response.status_code == 302
    assert Execution.objects.get(pk=execution.pk).status == "cancelled"


def test_viewers_cannot_use_the_actions(client, user_factory, execution):
    viewer = user_factory(username="looker", groups=["workflow-viewers"], is_staff=True)
    client.force_login(viewer)
    page = client.get("/admin/executions/execution/").content.decode()
    assert 'value="cancel"' not in page
    client.post("/admin/executions/execution/", {
        "action": "cancel", "_selected_action": [str(execution.pk)]})
    assert Execution.objects.get(pk=execution.pk).status == "running"
