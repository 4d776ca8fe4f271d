"""Every writable endpoint refuses a field it does not know, naming it, instead of
answering success and ignoring it."""

from __future__ import annotations

import pytest

from executions.models import Bookmark
from executions.services.start import execution_start
from tests.conftest import UserFactory
from tests.engine import workflow_from
from workflows.services import secret_create
from workflows.triggers.schedules import schedule_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(db, _default_groups):
    return UserFactory(username="root", is_superuser=True, is_staff=True)


@pytest.fixture
def objects(client_for, admin, definition) -> dict[str, str]:
    workflow = workflow_from(definition())
    execution, _ = execution_start(workflow=workflow, input={}, actor=admin)
    bookmark = Bookmark.objects.create(execution=execution, node_id="greet",
                                       kind="user_action", status="open", token="t-action")
    secret_create(name="API_KEY", value="v", actor=admin)
    schedule = schedule_create(workflow=workflow, cron="0 * * * *", actor=admin)
    hook = client_for(admin).post("/api/webhooks", {"workflow": str(workflow.pk),
                                                    "name": "shop"}, format="json")
    return {"workflow": str(workflow.pk), "execution": str(execution.pk),
            "bookmark": str(bookmark.pk), "schedule": str(schedule.pk),
            "webhook": str(hook.json()["id"])}


# Every endpoint whose body a serializer reads: (method, path).
WRITABLE = [
    ("post", "/api/workflows"),
    ("put", "/api/workflows/{workflow}"),
    ("patch", "/api/workflows/{workflow}"),
    ("post", "/api/workflows/validate"),
    ("post", "/api/workflows/{workflow}/execute"),
    ("post", "/api/secrets"),
    ("patch", "/api/secrets/API_KEY"),
    ("post", "/api/schedules"),
    ("put", "/api/schedules/{schedule}"),
    ("patch", "/api/schedules/{schedule}"),
    ("post", "/api/webhooks"),
    ("patch", "/api/webhooks/{webhook}"),
    ("post", "/api/events"),
    ("post", "/api/templates/http-alert/instantiate"),
    ("post", "/api/nodes/validate"),
    ("post", "/api/bookmarks/{bookmark}/resume"),
    ("post", "/api/messages"),
    ("post", "/api/executions/{execution}/retry"),
]


@pytest.mark.parametrize(("method", "path"), WRITABLE,
                         ids=[f"{method} {path}" for method, path in WRITABLE])
def test_an_unknown_field_is_a_400_naming_it(client_for, admin, objects, method, path):
    # given a writable endpoint
    client = client_for(admin)
    # when it is sent a field it does not take
    response = getattr(client, method)(path.format(**objects), {"descripton": "x"},
                                       format="json")
    # then the answer is a 400 that names the field and what the endpoint accepts
    assert response.status_code == 400, (response.status_code, response.content[:300])
    fields = response.json()["details"]["fields"]
    assert "descripton" in fields, fields
    assert "accepts" in fields["descripton"][0]


def test_patching_a_workflow_description_is_refused_not_ignored(client_for, admin, objects):
    # given a workflow (its description lives in its definition)
    client = client_for(admin)
    path = f"/api/workflows/{objects['workflow']}"
    # when its description alone is patched
    response = client.patch(path, {"description": "x"}, format="json")
    # then the answer says the field is not taken here, and nothing changed
    assert response.status_code == 400
    assert "description" in response.json()["details"]["fields"]
    assert client.get(path).json()["description"] == "Says hello"
    # while a known field alone is still a valid patch
    assert client.patch(path, {"active": False}, format="json").status_code == 200


def test_every_request_body_serializer_refuses_unknown_fields():
    # given every serializer named for a request body in the API modules
    import importlib
    import inspect
    import pkgutil

    from rest_framework import serializers

    import executions.apis
    import workflows.apis
    from config.serializers import InputSerializer

    modules = [importlib.import_module(info.name) for package in (workflows.apis, executions.apis)
               for info in pkgutil.iter_modules(package.__path__, f"{package.__name__}.")]
    found: list[type] = []
    for module in modules:
        for _, value in inspect.getmembers(module, inspect.isclass):
            nested = (member for _, member in inspect.getmembers(value, inspect.isclass))
            candidates = [value, *nested]
            found += [cls for cls in candidates if issubclass(cls, serializers.Serializer)
                      and cls.__name__.endswith("InputSerializer")]
    # then each one refuses fields it does not know
    assert len(set(found)) >= 14
    assert [cls.__name__ for cls in set(found) if not issubclass(cls, InputSerializer)] == []
