"""Bodies over the JSON and YAML limits answer a 400 (or 413) naming the problem, on every
endpoint that reads a body; nothing under /api/ ever answers HTML."""

from __future__ import annotations

import pytest
from django.http import HttpResponse
from django.urls import include, path

from executions.models import Bookmark
from executions.services.start import execution_start
from tests.conftest import UserFactory
from tests.engine import workflow_from

pytestmark = pytest.mark.django_db

DEEP_OBJECT = '{"a": ' * 10_000 + "1" + "}" * 10_000
LONG_INTEGER = '{"input": {"n": ' + "9" * 5_000 + "}}"
HUGE_FLOAT = '{"input": {"n": 1e400}, "payload": {"n": 1e400}}'
NAN = '{"input": {"n": NaN}, "payload": {"n": NaN}}'
NUL = '{"input": {"n": "a\\u0000b"}, "payload": {"n": "a\\u0000b"}}'
NUL_KEY = '{"input": {"\\u0000": 1}, "payload": {"\\u0000": 1}}'
LONE_SURROGATE = '{"input": {"n": "\\ud800"}, "payload": {"n": "\\udc00x"}}'


@pytest.fixture
def admin(db, _default_groups):
    return UserFactory(username="root", is_superuser=True, is_staff=True)


@pytest.fixture
def targets(client_for, admin, definition) -> dict[str, str]:
    """Every endpoint that reads a request body, by name: its path."""
    workflow = workflow_from(definition())
    execution, _ = execution_start(workflow=workflow, input={}, actor=admin)
    action = Bookmark.objects.create(execution=execution, node_id="greet",
                                     kind="user_action", status="open", token="t-action")
    Bookmark.objects.create(execution=execution, node_id="log", kind="webhook",
                            status="open", token="t-wait", request={"methods": ["POST"]})
    hook = client_for(admin).post("/api/webhooks", {"workflow": str(workflow.pk),
                                                    "name": "shop"}, format="json")
    assert hook.status_code == 201, hook.json()
    return {
        "login": "/api/auth/login",
        "refresh": "/api/auth/refresh",
        "workflow create": "/api/workflows",
        "workflow update": f"/api/workflows/{workflow.pk}",
        "import": "/api/workflows/import",
        "validate": "/api/workflows/validate",
        "execute": f"/api/workflows/{workflow.pk}/execute",
        "messages": "/api/messages",
        "secrets": "/api/secrets",
        "schedules": "/api/schedules",
        "webhooks": "/api/webhooks",
        "resume": f"/api/bookmarks/{action.pk}/resume",
        "events": "/api/events",
        "trigger hook": f"/api/hooks/{hook.json()['url'].rsplit('/', 1)[1]}",
        "wait hook": "/api/hooks/t-wait",
        "node validate": "/api/nodes/validate",
        "template instantiate": "/api/templates/http-alert/instantiate",
    }


ENDPOINTS = ["login", "refresh", "workflow create", "workflow update", "import", "validate",
             "execute", "messages", "secrets", "schedules", "webhooks", "resume", "events",
             "trigger hook", "wait hook", "node validate", "template instantiate"]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize(("body", "named"), [
    (DEEP_OBJECT, "nested deeper than"),
    (LONG_INTEGER, "digits"),
    (HUGE_FLOAT, "finite"),
    (NAN, "finite"),
    (NUL, "NUL character"),
], ids=["deep", "long-integer", "1e400", "nan", "nul"])
def test_a_body_over_a_json_limit_is_a_400_naming_it(client_for, admin, targets, endpoint,
                                                     body, named):
    # given an endpoint that reads a JSON body
    client = client_for(None if endpoint in {"login", "refresh"} else admin)
    url = targets[endpoint]
    method = client.patch if endpoint == "workflow update" else client.post

    # when it is sent a body over one of the limits
    response = method(url, body, content_type="application/json")

    # then the answer is a JSON 400 that names the problem, not a server error
    assert response.status_code == 400, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json")
    error = response.json()
    message = error["message"] if "message" in error else error["errors"][0]["message"]
    assert named in message, error
    # and, where a value breaks it, names the field that holds the value
    if body is not DEEP_OBJECT:
        assert "'input.n'" in message, error
        if "details" in error and "fields" in error["details"]:
            assert "input.n" in error["details"]["fields"], error


@pytest.mark.parametrize("endpoint", ["execute", "trigger hook", "wait hook", "resume"])
@pytest.mark.parametrize(("body", "named"), [
    (NUL_KEY, "NUL character"),
    (LONE_SURROGATE, "unpaired surrogate"),
], ids=["nul-key", "lone-surrogate"])
def test_a_text_postgresql_cannot_store_is_a_400_naming_it(client_for, admin, targets,
                                                           endpoint, body, named):
    # given an endpoint that stores the JSON object it is sent as it is
    # when a key holds a NUL, or a text half of a surrogate pair
    response = client_for(admin).post(targets[endpoint], body,
                                      content_type="application/json")

    # then the answer is a 400 naming it, not a server error from the database
    assert response.status_code == 400, (response.status_code, response.content[:300])
    assert named in response.json()["message"]


def test_the_limits_are_settings(client_for, admin, targets, settings):
    # given a deployment that allows shallower documents and shorter integers
    settings.JSON_MAX_DEPTH = 3
    settings.JSON_MAX_INTEGER_DIGITS = 5
    client = client_for(admin)
    url = targets["execute"]
    # then a fourth level and a sixth digit are refused, and what fits is accepted
    deep = client.post(url, {"input": {"a": {"b": {"c": 1}}}}, format="json")
    assert deep.status_code == 400 and "3 levels" in deep.json()["message"]
    digits = client.post(url, {"input": {"n": 123456}}, format="json")
    assert digits.status_code == 400 and "6 digits" in digits.json()["message"]
    assert client.post(url, {"input": {"n": 12345}}, format="json").status_code == 202


@pytest.mark.parametrize(("document", "named"), [
    ("[" * 100_000 + "]" * 100_000, "nested"),
    ("name: x\nnodes: []\nn: " + "9" * 5_000 + "\n", "digits"),
    ("name: x\nnodes: []\nn: " + "[" * 80 + "]" * 80 + "\n", "nested deeper than"),
    ('name: "x\\0y"\nnodes: []\n', "NUL character"),
], ids=["deep-flow", "long-integer", "over-depth", "nul"])
@pytest.mark.parametrize("endpoint", ["import", "validate"])
def test_yaml_keeps_the_same_limits(client_for, admin, targets, endpoint, document, named):
    # given a YAML document over a limit
    # when it is imported or validated
    response = client_for(admin).post(targets[endpoint], document,
                                      content_type="application/yaml")

    # then the answer names the problem (a crash of the parser would end the process)
    body = response.json()
    if endpoint == "import":
        assert response.status_code == 400, body
        message = body["message"]
    else:
        assert response.status_code == 200 and body["valid"] is False, body
        message = body["errors"][0]["message"]
    assert named in message, body


@pytest.mark.parametrize("endpoint", ["import", "validate"])
def test_a_yaml_document_over_its_own_size_limit_is_a_413(client_for, admin, targets,
                                                          endpoint, settings):
    # given a YAML limit of 1 kB, below the JSON one
    settings.MAX_YAML_BYTES = 1024
    document = "name: big\nnodes: []\ndescription: '" + "x" * 2000 + "'\n"

    # when a YAML document of 2 kB is sent
    response = client_for(admin).post(targets[endpoint], document,
                                      content_type="application/yaml")

    # then it is refused before it is parsed, naming the limit
    assert response.status_code == 413, response.content[:300]
    assert response.json()["details"] == {"max_bytes": 1024}
    # while the same definition as JSON is accepted
    as_json = {"name": "big", "namespace": "tests", "description": "x" * 2000,
               "nodes": [{"id": "a", "type": "Logger", "data": {"message": "hi"}}]}
    assert client_for(admin).post(targets["import"], as_json,
                                  format="json").status_code == 201


def crash(request):
    raise RuntimeError("a bug")


def html(request):
    return HttpResponse("<html>refused</html>", status=400)


urlpatterns = [
    path("api/crash", crash),
    path("api/html", html),
    path("", include("config.urls")),
]


@pytest.mark.parametrize("debug", [False, True], ids=["production", "development"])
def test_nothing_under_api_answers_html(client_for, admin, settings, debug):
    # given the development profile (DEBUG) or not, and a view that fails
    settings.DEBUG = debug
    settings.ROOT_URLCONF = __name__
    client = client_for(admin)
    client.raise_request_exception = False

    # when an unknown address, a failing view and a bare HTML error are requested
    missing = client.get("/api/no-such-thing")
    crashed = client.get("/api/crash")
    refused = client.get("/api/html")

    # then each answers the error contract in JSON, with nothing of the code or settings
    for response, status, code in ((missing, 404, "not_found"), (crashed, 500, "server_error"),
                                   (refused, 400, "invalid_input")):
        assert response.status_code == status
        assert response["Content-Type"] == "application/json"
        assert response.json()["code"] == code
        assert b"a bug" not in response.content and b"SECRET" not in response.content
    # and a page outside the API keeps Django's own answer
    assert client.get("/no-such-page")["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("debug", [False, True], ids=["production", "development"])
def test_too_many_query_fields_is_a_json_400_in_both_profiles(client_for, admin, settings,
                                                                debug):
    # given either profile
    settings.DEBUG = debug
    client = client_for(admin)
    client.raise_request_exception = False
    query = "&".join(f"f{i}=1" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))

    # when a list is asked for with more query fields than Django reads
    response = client.get(f"/api/workflows?{query}")

    # then the answer is the error contract's 400, not a failure of the debug page
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_input"


NAMED_ADDRESSES = ["workflows", "workflows/demo", "executions", "schedules", "webhooks",
                   "secrets", "bookmarks", "audit", "templates", "nodes/types", "hooks"]


def test_an_address_holding_a_nul_is_a_404(client_for, admin):
    client = client_for(admin)
    for collection in NAMED_ADDRESSES:
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            # given a NUL, escaped or not, where an address names an object
            for name in ("%00", "a%00b", "\x00"):
                # when it is requested
                response = client.generic(method, f"/api/{collection}/{name}", "{}",
                                          content_type="application/json")

                # then it names nothing: a JSON 404, not a database error
                assert response.status_code == 404, (method, collection, name,
                                                      response.status_code)
                assert response.json()["code"] == "not_found"


@pytest.mark.parametrize("path", [
    "/api/executions?status=a%00b", "/api/workflows?search=%00", "/api/bookmarks?node=%00",
    "/admin/executions/execution/?status__exact=%00",
    "/admin/executions/bookmark/?status__exact=%00", "/admin/workflows/workflow/?q=a%00b"])
def test_a_nul_in_a_query_is_a_400_on_every_page(client, admin, path):
    # given an operator signed in to the admin (a session authenticates the API too)
    client.force_login(admin)
    # when a list is filtered or searched by a value holding a NUL
    response = client.get(path)
    # then it is refused, not a database error; JSON under /api/, naming the parameter
    assert response.status_code == 400
    if path.startswith("/api/"):
        body = response.json()
        assert body["code"] == "invalid_input"
        field = path.split("?")[1].split("=")[0]
        assert list(body["details"]["fields"]) == [field]
        assert f"'{field}'" in body["message"] and "NUL" in body["message"]


DATE_FILTERS = [("/api/executions", "created_after"), ("/api/executions", "created_before"),
                ("/api/workflows", "created_after"), ("/api/workflows", "updated_after"),
                ("/api/audit", "since"), ("/api/audit", "until")]


@pytest.mark.parametrize(("path", "name"), DATE_FILTERS)
def test_a_date_time_filter_takes_any_offset_and_refuses_what_utc_cannot_hold(
        client_for, admin, path, name):
    client = client_for(admin)
    # an offset PostgreSQL does not take is turned into UTC first
    assert client.get(path, {name: "0176-04-09T10:41:57.44-19:52"}).status_code == 200
    # a time whose UTC falls outside the years 1 to 9999 is a 400 naming the filter
    refused = client.get(path, {name: "9999-12-31T23:59:00-10:00"})
    assert refused.status_code == 400
    assert name in refused.json()["details"]["fields"]
