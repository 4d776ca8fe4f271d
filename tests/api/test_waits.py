"""The waits API's inbox filter: `answerable` lists the waits the caller may resume."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from executions.models import Bookmark
from executions.services.start import execution_start
from tests.engine import workflow_from

pytestmark = pytest.mark.django_db


@pytest.fixture
def waits(definition) -> dict[str, Bookmark]:
    """Three open approvals of one execution: for a role, for the viewer, for someone else."""
    execution, _ = execution_start(workflow=workflow_from(definition()), input={})
    return {
        assignee: Bookmark.objects.create(execution=execution, node_id=f"ask-{number}",
                                          kind="user_action", assignee=assignee,
                                          token=f"t-{number}", request={"prompt": "Ok?"})
        for number, assignee in enumerate(["role:manager", "viewer", "someone"])
    }


def listed(client, **filters) -> set[str]:
    response = client.get("/api/bookmarks", {"answerable": "true", **filters})
    assert response.status_code == 200, response.json()
    return {wait["assignee"] for wait in response.json()["results"]}


def test_answerable_lists_only_the_waits_the_caller_may_resume(client_for, waits, viewer,
                                                               operator, user_factory):
    # given a manager (in the group, no workflow permission), a viewer and an operator
    manager = user_factory(username="boss")
    manager.groups.add(Group.objects.create(name="manager"))

    # when each lists the waits they may answer
    # then the viewer, who reads every wait, gets only theirs; the manager their group's;
    # the operator (workflow.execute may resume any wait) all of them
    assert listed(client_for(viewer)) == {"viewer"}
    assert listed(client_for(manager)) == {"role:manager"}
    assert listed(client_for(operator)) == {"role:manager", "viewer", "someone"}
    # and without the filter the viewer still reads every wait
    everything = client_for(viewer).get("/api/bookmarks").json()["results"]
    assert {wait["assignee"] for wait in everything} == {"role:manager", "viewer", "someone"}


def test_answerable_combines_with_the_other_filters(client_for, waits, operator):
    Bookmark.objects.filter(pk=waits["someone"].pk).update(kind="message")

    assert listed(client_for(operator), kind="user_action") == {"role:manager", "viewer"}
    assert listed(client_for(operator), kind="user_action", mine="true") == set()
