"""Every operation of the OpenAPI schema refuses a caller without the right credentials.

The walk reads the schema the API publishes, so an endpoint added later is covered
without touching this file: anonymous callers get 401, signed-in users without any
workflow permission get 403, except on the public endpoints listed here with the reason.
"""

from __future__ import annotations

import re
import uuid

import pytest
from drf_spectacular.generators import SchemaGenerator

pytestmark = pytest.mark.django_db

# Operations that answer without a login: the token in the URL is the credential, or the
# operation is how one logs in.
PUBLIC = {
    ("POST", "/api/auth/login"): "logging in",
    ("POST", "/api/auth/refresh"): "refreshing a token with the refresh token",
    ("POST", "/api/auth/logout"): "revoking a refresh token, which is the credential",
    ("POST", "/api/hooks/{token}"): "the secret hook token is the credential",
    ("PUT", "/api/hooks/{token}"): "the secret hook token is the credential",
    ("PATCH", "/api/hooks/{token}"): "the secret hook token is the credential",
}

# Operations any signed-in user may call: they show only the caller's own things.
ANY_USER = {
    ("GET", "/api/auth/me"): "the caller's own profile",
    ("GET", "/api/bookmarks"): "the waits assigned to the caller",
    ("GET", "/api/bookmarks/{id}"): "a wait assigned to the caller (404 otherwise)",
    ("POST", "/api/bookmarks/{id}/resume"): "the assignee resumes their own wait",
}


def _operations() -> list[tuple[str, str]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return sorted(
        (method.upper(), path)
        for path, item in schema["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    )


def _url(path: str) -> str:
    def value(match: re.Match) -> str:
        name = match.group(1)
        return "1" if name in {"number", "version"} else str(uuid.uuid4())

    return re.sub(r"\{(\w+)\}", value, path)


OPERATIONS = _operations()


def test_the_walk_covers_the_api():
    paths = {path for _, path in OPERATIONS}

    assert {"/api/workflows", "/api/executions", "/api/secrets"} <= paths
    assert all(operation in OPERATIONS for operation in PUBLIC)


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_anonymous_callers_are_refused(anonymous, method, path):
    response = anonymous.generic(method, _url(path), data="{}", content_type="application/json")

    if (method, path) in PUBLIC:
        assert response.status_code not in {401, 403, 500}, response.content
    else:
        assert response.status_code == 401, (method, path, response.status_code)
        assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_users_without_permission_are_refused(client_for, nobody, method, path):
    response = client_for(nobody).generic(method, _url(path), data="{}",
                                          content_type="application/json")

    if (method, path) in PUBLIC or (method, path) in ANY_USER:
        assert response.status_code < 500, (method, path, response.content)
    else:
        assert response.status_code == 403, (method, path, response.status_code)
        assert response.json()["code"] == "permission_denied"


def test_an_address_no_route_matches_answers_json_404(client_for, viewer):
    response = client_for(viewer).get("/api/workflows/0.5")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_a_page_past_the_end_is_a_400_naming_page(client_for, viewer):
    response = client_for(viewer).get("/api/workflows?page=0")

    assert response.status_code == 400
    assert "page" in response.json()["details"]["fields"]


def _lists() -> list[str]:
    """Every list the schema publishes without a path parameter."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return sorted(path for path, item in schema["paths"].items() if "{" not in path
                  and any(parameter["name"] == "page_size"
                          for parameter in item.get("get", {}).get("parameters", [])))


@pytest.mark.parametrize("size", ["0", "-1", "abc", "1e9", "2.5", "", " 5", "\u0665", "9" * 400])
def test_a_page_size_that_is_not_a_whole_number_is_a_400_naming_it(client_for, size):
    from tests.conftest import UserFactory

    admin = UserFactory(username="lists-admin", is_superuser=True, is_staff=True)
    lists = _lists()
    assert len(lists) >= 7  # workflows, executions, schedules, webhooks, secrets, ...
    for path in lists:
        # when a list is asked for a page size that is not a whole number from 1 up
        response = client_for(admin).get(path, {"page_size": size})
        # then it says so, naming the field, instead of answering another size
        if size == "9" * 400:  # a whole number, over the limit: the largest page
            assert response.status_code == 200, (path, response.content[:200])
            continue
        assert response.status_code == 400, (path, size, response.status_code)
        assert list(response.json()["details"]["fields"]) == ["page_size"], path


def test_a_page_size_over_the_limit_gives_the_largest_page(client_for, viewer, settings,
                                                          definition):
    from tests.engine import workflow_from

    settings.API_PAGE_SIZE_MAX = 2
    for name in ("a", "b", "c"):
        workflow_from(definition(name=name))
    page = client_for(viewer).get("/api/workflows", {"page_size": 1000}).json()
    assert len(page["results"]) == 2 and page["count"] == 3 and page["next"]


def test_an_ordering_the_list_cannot_take_is_a_400_naming_it(client_for):
    from tests.conftest import UserFactory

    admin = UserFactory(username="lists-admin", is_superuser=True, is_staff=True)
    for path in _lists():
        client = client_for(admin)
        # when a list is asked to order by a field it has not, or by a related secret
        for ordering in ("password", "-created_at,nope", "owner__password", "?"):
            response = client.get(path, {"ordering": ordering})
            # then it says which fields it can order by, instead of answering its default order
            assert response.status_code == 400, (path, ordering, response.status_code)
            assert list(response.json()["details"]["fields"]) == ["ordering"], path
        # while the fields it lists are taken, descending too
        message = client.get(path, {"ordering": "nope"}).json()["details"]["fields"]["ordering"]
        first = message[0].split("order by ")[2].split(",")[0].split(" ")[0]
        assert client.get(path, {"ordering": f"-{first}"}).status_code == 200, (path, first)


def test_a_query_parameter_a_list_does_not_read_is_a_400_naming_it(client_for):
    from tests.conftest import UserFactory

    admin = UserFactory(username="lists-admin", is_superuser=True, is_staff=True)
    client = client_for(admin)
    for path in _lists():
        # when a list is asked with a misspelt filter
        response = client.get(path, {"statuss": "failed", "page_size": 5})
        # then it names it and what the list takes, instead of answering the whole list
        assert response.status_code == 400, (path, response.status_code)
        fields = response.json()["details"]["fields"]
        assert list(fields) == ["statuss"], (path, fields)
        assert "page_size" in fields["statuss"][0] and "ordering" in fields["statuss"][0]
    # while every filter a list documents is taken
    assert client.get("/api/executions", {"status": "failed", "trigger": "api",
                                          "search": "x", "ordering": "-created_at",
                                          "page": 1}).status_code == 200
    assert client.get("/api/bookmarks", {"kind": "user_action", "answerable": "true",
                                         "ordering": "created_at"}).status_code == 200
