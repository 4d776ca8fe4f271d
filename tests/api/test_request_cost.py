"""What one API request costs in queries, and the permissions and counts that saves on."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from config.tokens import access_token_issue
from executions.models import Execution
from executions.services.start import execution_start
from workflows.services import workflow_create

pytestmark = pytest.mark.django_db

POSTGRESQL = pytest.mark.skipif("connection.vendor != 'postgresql'",
                                reason="the planner's estimate is PostgreSQL's")


def bearer(user) -> APIClient:
    """A client that authenticates each request with a JWT, as a real client does (the
    user and their permissions are loaded per request, not kept by the test client)."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token_issue(user=user)}")
    return client


@pytest.fixture
def workflow(editor, definition):
    return workflow_create(definition=definition(), actor=editor)


def executions_start(workflow, actor, count: int) -> None:
    for number in range(count):
        execution_start(workflow=workflow, input={"n": number}, actor=actor)


def test_a_page_of_fifty_executions_costs_four_queries(operator, editor, definition,
                                                       workflow):
    # given 60 executions of two workflows, started by two users
    other = workflow_create(definition=definition(name="other"), actor=editor)
    executions_start(workflow, operator, 30)
    executions_start(other, None, 30)

    # when a page of 50 is read with a bearer token
    client = bearer(operator)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/executions", {"page_size": 50})

    # then it holds 50 executions, newest first, with their workflow, version and user
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 60 and len(body["results"]) == 50 and body["next"]
    assert {row["workflow_name"] for row in body["results"]} == {"tests/hello", "tests/other"}
    assert {row["started_by"] for row in body["results"]} == {"operator", None}
    created = [row["created_at"] for row in body["results"]]
    assert created == sorted(created, reverse=True)
    # and it cost 4 queries whatever the page size: the token's user, their permissions
    # (own and groups' in one query), the count, and the page with its workflows, versions
    # and users joined. Each query is a round trip a user waits for; one per row (N+1)
    # would be 50 more.
    assert len(queries) == 4, "\n".join(query["sql"][:70] for query in queries)


def test_starting_an_execution_costs_nine_statements(operator, workflow):
    # given a workflow of two nodes
    client = bearer(operator)

    # when it is started over the API
    with CaptureQueriesContext(connection) as queries:
        response = client.post(f"/api/workflows/{workflow.pk}/execute",
                               {"input": {"name": "ada"}}, format="json")

    # then the answer is the running execution with its node runs
    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["status"] == "running" and body["workflow_name"] == "tests/hello"
    assert body["started_by"] == "operator" and body["version"] == 1
    assert [node["node_id"] for node in body["nodes"]] == ["greet", "log"]
    assert Execution.objects.get(pk=body["id"]).nodes.filter(
        node_id="greet", dispatched_at__isnull=False).exists()
    # and it cost, on PostgreSQL: the token's user, their permissions, the workflow with
    # its current version; in the service's transaction (its savepoint here, its BEGIN and
    # COMMIT in production) the execution, written running at once, its node rows (the
    # root already marked sent), and its `pending` and `running` log entries with their
    # outbox events in one statement; then the node rows read back for the answer: 7
    # statements and 2 for the transaction. SQLite writes the log entries and the outbox
    # events in two statements (1 more).
    expected = 9 if connection.vendor == "postgresql" else 10
    assert len(queries) == expected, "\n".join(query["sql"][:150] for query in queries)


def test_a_revoked_permission_is_refused_on_the_next_request(operator):
    # given an operator whose token reads the executions
    client = bearer(operator)
    assert client.get("/api/executions").status_code == 200

    # when their group loses workflow.read, then when they leave the group
    operators = Group.objects.get(name="workflow-operators")
    read = Permission.objects.get(content_type__app_label="workflow", codename="read")
    operators.permissions.remove(read)
    after_group_change = client.get("/api/executions")
    operators.permissions.add(read)
    assert client.get("/api/executions").status_code == 200
    operator.groups.remove(operators)
    after_leaving = client.get("/api/executions")

    # then the very next request with the same token is refused each time
    assert after_group_change.status_code == 403
    assert after_leaving.status_code == 403


def test_a_permission_granted_to_the_user_directly_counts(nobody):
    # given a user in no group, holding workflow.read directly
    nobody.user_permissions.add(
        Permission.objects.get(content_type__app_label="workflow", codename="read"))

    # when they list the executions and try to start one
    client = bearer(nobody)

    # then reading is allowed and executing is not
    assert client.get("/api/executions").status_code == 200
    assert client.post("/api/workflows/00000000-0000-0000-0000-000000000000/execute",
                       {}, format="json").status_code == 403


def _analyze() -> None:
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE executions_execution")


@POSTGRESQL
def test_a_large_unfiltered_list_answers_the_estimate_and_exact_links(
        operator, workflow, settings):
    # given a table the planner estimates at 7 rows, above the threshold, holding 10 now
    settings.PAGINATION_COUNT_ESTIMATE_ABOVE = 5
    executions_start(workflow, operator, 7)
    _analyze()
    executions_start(workflow, operator, 3)
    client = bearer(operator)

    # when it is read page by page, 4 at a time
    first = client.get("/api/executions", {"page_size": 4}).json()
    second = client.get("/api/executions", {"page_size": 4, "page": 2}).json()
    last = client.get("/api/executions", {"page_size": 4, "page": 3}).json()
    beyond = client.get("/api/executions", {"page_size": 4, "page": 4})

    # then the first page counts the estimate, but every link and page is exact: the last
    # page (reached although the estimate says 2 pages) counts the rows exactly
    assert first["count"] == 7 and first["next"] and first["previous"] is None
    assert len(second["results"]) == 4 and second["next"]
    assert len(last["results"]) == 2 and last["next"] is None and last["count"] == 10
    ids = [row["id"] for page in (first, second, last) for row in page["results"]]
    assert len(set(ids)) == 10
    assert beyond.status_code == 400 and "page" in beyond.json()["details"]["fields"]


@POSTGRESQL
def test_a_filtered_list_or_the_last_page_counts_exactly(operator, workflow, settings):
    # given the same stale estimate (7 rows analysed, 10 now)
    settings.PAGINATION_COUNT_ESTIMATE_ABOVE = 5
    executions_start(workflow, operator, 7)
    _analyze()
    executions_start(workflow, operator, 3)
    client = bearer(operator)

    # when the list is filtered, or its last page is asked for by name
    filtered = client.get("/api/executions", {"workflow": str(workflow.pk)}).json()
    last = client.get("/api/executions", {"page_size": 4, "page": "last"}).json()

    # then both count every row
    assert filtered["count"] == 10
    assert last["count"] == 10 and len(last["results"]) == 2 and last["next"] is None


def test_a_small_list_counts_exactly(operator, workflow):
    # given fewer executions than the estimate threshold
    executions_start(workflow, operator, 3)

    # when the list is read
    body = bearer(operator).get("/api/executions", {"page_size": 2}).json()

    # then the count is exact and the next page is linked
    assert body["count"] == 3 and body["next"]
