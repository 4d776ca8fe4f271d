"""Shared fixtures: users holding each workflow permission, API clients, definitions."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import factory
import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.cache import cache
from rest_framework.test import APIClient

PASSWORD = "correct-horse-battery-staple"

SIMPLE_DEFINITION: dict[str, Any] = {
    "name": "hello",
    "namespace": "tests",
    "description": "Says hello",
    "nodes": [
        {"id": "greet", "type": "Transform",
         "data": {"template": {"text": "Hello {{ input.name }}"}}},
        {"id": "log", "type": "Logger",
         "data": {"level": "info", "message": "{{ nodes.greet.text }}"}},
    ],
    "edges": [{"source": "greet", "target": "log"}],
}


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def groups(self, create: bool, names: list[str] | None, **kwargs) -> None:
        if create and names:
            self.groups.set(Group.objects.filter(name__in=names))
        self.save()


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttle counters live in the shared cache; each test starts with none."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def definition() -> Callable[..., dict[str, Any]]:
    """A valid definition; keyword arguments replace top-level keys."""

    def make(**overrides: Any) -> dict[str, Any]:
        document = copy.deepcopy(SIMPLE_DEFINITION)
        document.update(overrides)
        return document

    return make


@pytest.fixture
def user_factory(_default_groups):
    return UserFactory


@pytest.fixture
def _default_groups(db):
    """The migration's groups; a transactional test's flush removes them, so re-create."""
    from django.contrib.auth.models import Permission

    from workflows.permissions import default_groups_ensure

    default_groups_ensure(Group, Permission)


@pytest.fixture
def viewer(db, _default_groups):
    return UserFactory(username="viewer", groups=["workflow-viewers"])


@pytest.fixture
def editor(db, _default_groups):
    return UserFactory(username="editor", groups=["workflow-editors"])


@pytest.fixture
def operator(db, _default_groups):
    return UserFactory(username="operator", groups=["workflow-operators"])


@pytest.fixture
def designer(db, _default_groups):
    """Writes and runs workflows: may make triggers (they start runs)."""
    return UserFactory(username="designer", groups=["workflow-editors", "workflow-operators"])


@pytest.fixture
def wf_admin(db, _default_groups):
    return UserFactory(username="wfadmin", groups=["workflow-admins"])


@pytest.fixture
def nobody(db):
    """Authenticated, in no group: every workflow permission is missing."""
    return UserFactory(username="nobody")


@pytest.fixture
def client_for() -> Callable[[Any], APIClient]:
    def make(user: Any | None) -> APIClient:
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return make


@pytest.fixture
def anonymous() -> APIClient:
    return APIClient()


_SESSION_WORKER: list = []  # the session's worker, once a test started it


def _commits(request) -> bool:
    """Whether the test commits (a transactional database): only then can it send tasks."""
    marker = request.node.get_closest_marker("django_db")
    return bool(marker and marker.kwargs.get("transaction")) or (
        "transactional_db" in request.fixturenames)


@pytest.fixture(autouse=True)
def _worker_settles(request):
    """A test on the worker ends when the worker is idle, before its tables are emptied
    (work left running, e.g. a child reporting to its parent, would race the flush). So
    does a committing test that did not ask for the worker but started an execution while
    the session's worker runs: it takes the nodes all the same."""
    yield
    if "worker" in request.fixturenames:
        request.getfixturevalue("worker").wait_idle()
    elif _SESSION_WORKER and _commits(request):
        _SESSION_WORKER[0].wait_idle()


@pytest.fixture(scope="session")
def worker(django_db_setup, django_db_blocker, tmp_path_factory):
    """One real Celery worker process for the session, on the test database."""
    from tests.workers import celery_worker

    with django_db_blocker.unblock(), celery_worker(tmp_path_factory.mktemp("worker"),
                                                    concurrency=2) as running:
        _SESSION_WORKER.append(running)
        yield running
        _SESSION_WORKER.clear()


@pytest.fixture(scope="session")
def web(django_db_setup, django_db_blocker, tmp_path_factory):
    """One real ASGI web server process for the session, on the test database and the
    run's channel layer."""
    from tests.servers import web_server

    with django_db_blocker.unblock(), web_server(tmp_path_factory.mktemp("web")) as running:
        yield running


@pytest.fixture
def test_node_types(settings):
    """Register the tests' own node types here too (the worker gets them from its env)."""
    from tests.nodetypes import TEST_NODE_TYPES
    from workflows.nodes.registry import registry_reset

    settings.WORKFLOW_NODE_TYPES = TEST_NODE_TYPES.split(",")
    registry_reset()
    yield
    registry_reset()
