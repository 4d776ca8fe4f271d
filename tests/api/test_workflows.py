"""The workflows API: CRUD, versions, diff, validation, import and export, permissions."""

from __future__ import annotations

import json

import pytest
import yaml

from monitoring.models import AuditLog
from workflows.models import Workflow

pytestmark = pytest.mark.django_db


def create(client, definition, **extra):
    return client.post("/api/workflows", {"definition": definition, **extra}, format="json")


# --- create and read -------------------------------------------------------------------------

def test_editor_creates_a_workflow_with_version_1(client_for, editor, definition):
    # given an editor and a valid definition
    client = client_for(editor)
    # when the editor creates the workflow with tags
    response = create(client, definition(), tags=["demo", "greeting"], change_note="first")
    # then it exists at version 1, owned by the editor, with the definition normalised
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["namespace"] == "tests" and body["name"] == "hello"
    assert body["version"] == 1 and len(body["checksum"]) == 64
    assert body["owner"] == "editor" and sorted(body["tags"]) == ["demo", "greeting"]
    assert body["definition"]["nodes"][0]["id"] == "greet"
    assert body["definition"]["settings"]["timeout"] == 1800
    assert body["definition"]["namespace"] == "tests"


def test_created_workflow_is_readable_by_a_viewer(client_for, editor, viewer, definition):
    workflow_id = create(client_for(editor), definition()).json()["id"]
    response = client_for(viewer).get(f"/api/workflows/{workflow_id}")
    assert response.status_code == 200
    assert response.json()["definition"]["edges"] == [{"source": "greet", "target": "log"}]


def test_invalid_definition_is_refused_with_every_problem_named(client_for, editor, definition):
    # given a definition with an unknown node type, a dangling edge and a duplicate id
    document = definition(
        nodes=[
            {"id": "a", "type": "NoSuchType", "data": {}},
            {"id": "b", "type": "Logger", "data": {"message": "x"}},
            {"id": "b", "type": "Logger", "data": {"message": "y"}},
        ],
        edges=[{"source": "a", "target": "ghost"}],
    )
    # when it is saved
    response = create(client_for(editor), document)
    # then 400 lists each problem with its node or edge, and nothing is written
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_definition"
    codes = {(e["code"], e.get("node"), e.get("edge")) for e in body["details"]["errors"]}
    assert ("unknown_node_type", "a", None) in codes
    assert ("duplicate_node_id", "b", None) in codes
    assert any(code == "edge_target_missing" and edge == "a->ghost" for code, _, edge in codes)
    assert Workflow.objects.count() == 0


def test_missing_definition_names_the_field(client_for, editor):
    response = client_for(editor).post("/api/workflows", {"tags": ["x"]}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_input"
    assert "definition" in response.json()["details"]["fields"]


def test_duplicate_name_in_namespace_is_a_conflict(client_for, editor, definition):
    client = client_for(editor)
    assert create(client, definition()).status_code == 201
    response = create(client, definition())
    assert response.status_code == 409
    assert response.json()["code"] == "workflow_exists"
    assert "name" in response.json()["details"]["fields"]


def test_same_name_in_another_namespace_is_allowed(client_for, editor, definition):
    client = client_for(editor)
    assert create(client, definition()).status_code == 201
    assert create(client, definition(namespace="other")).status_code == 201


# --- versions -------------------------------------------------------------------------------

def test_saving_a_changed_graph_creates_the_next_version(client_for, editor, definition):
    client = client_for(editor)
    workflow_id = create(client, definition()).json()["id"]
    changed = definition()
    changed["nodes"][1]["data"]["message"] = "changed"
    response = client.put(
        f"/api/workflows/{workflow_id}", {"definition": changed, "change_note": "louder"},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["version"] == 2
    versions = client.get(f"/api/workflows/{workflow_id}/versions").json()
    assert [v["number"] for v in versions] == [2, 1]
    assert versions[0]["change_note"] == "louder" and versions[0]["author"] == "editor"


def test_saving_an_unchanged_graph_creates_no_version(client_for, editor, definition):
    client = client_for(editor)
    workflow_id = create(client, definition()).json()["id"]
    reordered = dict(reversed(list(definition().items())))  # same content, other key order
    response = client.put(f"/api/workflows/{workflow_id}", {"definition": reordered}, format="json")
    assert response.status_code == 200
    assert response.json()["version"] == 1


def test_patch_changes_metadata_without_a_version(client_for, editor, definition):
    client = client_for(editor)
    workflow_id = create(client, definition()).json()["id"]
    response = client.patch(
        f"/api/workflows/{workflow_id}", {"active": False, "tags": ["x"]}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["active"] is False and response.json()["tags"] == ["x"]
    assert response.json()["version"] == 1


def test_stale_base_version_is_a_conflict(client_for, editor, definition):
    # given a workflow at version 2
    client = client_for(editor)
    workflow_id = create(client, definition()).json()["id"]
    second = definition(description="second")
    client.put(f"/api/workflows/{workflow_id}", {"definition": second}, format="json")
    # when a client that edited version 1 saves
    third = definition(description="third")
    response = client.put(
        f"/api/workflows/{workflow_id}", {"definition": third, "base_version": 1}, format="json"
    )
    # then the save is refused and version 2 stays current
    assert response.status_code == 409
    assert response.json()["code"] == "version_conflict"
    assert response.json()["details"]["current_version"] == 2
    assert client.get(f"/api/workflows/{workflow_id}").json()["description"] == "second"


def test_version_detail_and_missing_version(client_for, editor, definition):
    client = client_for(editor)
    workflow_id = create(client, definition()).json()["id"]
    detail = client.get(f"/api/workflows/{workflow_id}/versions/1")
    assert detail.status_code == 200 and detail.json()["definition"]["name"] == "hello"
    missing = client.get(f"/api/workflows/{workflow_id}/versions/9")
    assert missing.status_code == 404 and missing.json()["code"] == "version_not_found"
    # so is a number no version can have, of any length, and the first one is found padded
    for number in ("2147483648", "9" * 5000):
        beyond = client.get(f"/api/workflows/{workflow_id}/versions/{number}")
        assert beyond.status_code == 404 and beyond.json()["code"] == "version_not_found"
        assert len(beyond.content) < 1000
    assert client.get(f"/api/workflows/{workflow_id}/versions/0001").status_code == 200


def test_diff_lists_nodes_and_edges_with_field_changes(client_for, editor, definition):
    # given version 1 and a version 2 that changes, adds and removes nodes
    client = client_for(editor)
    workflow_id = create(client, definition()).json()["id"]
    changed = definition()
    changed["nodes"][0]["data"]["template"]["text"] = "Hi {{ input.name }}"
    changed["nodes"][1] = {"id": "shout", "type": "Logger", "data": {"message": "!"}}
    changed["edges"] = [{"source": "greet", "target": "shout"}]
    client.put(f"/api/workflows/{workflow_id}", {"definition": changed}, format="json")
    # when the diff is asked for
    response = client.get(f"/api/workflows/{workflow_id}/diff", {"from": 1, "to": 2})
    # then it names what was added, removed and changed, field by field
    assert response.status_code == 200
    diff = response.json()
    assert diff["from"] == 1 and diff["to"] == 2
    assert diff["nodes"]["added"] == ["shout"] and diff["nodes"]["removed"] == ["log"]
    [greet] = diff["nodes"]["changed"]
    assert greet["id"] == "greet"
    assert {"field": "data.template.text", "before": "Hello {{ input.name }}",
            "after": "Hi {{ input.name }}"} in greet["changes"]
    assert diff["edges"]["added"] == ["greet->shout"]
    assert diff["edges"]["removed"] == ["greet->log"]


def test_diff_needs_both_versions(client_for, editor, definition):
    client = client_for(editor)
    workflow_id = create(client, definition()).json()["id"]
    response = client.get(f"/api/workflows/{workflow_id}/diff", {"from": 1})
    assert response.status_code == 400
    assert "to" in response.json()["details"]["fields"]
    response = client.get(f"/api/workflows/{workflow_id}/diff", {"from": 1, "to": 5})
    assert response.status_code == 404


# --- validate ---------------------------------------------------------------------------------

def test_validate_reports_problems_without_saving(client_for, viewer, definition):
    document = definition()
    document["nodes"][1]["data"]["message"] = "{{ unclosed"
    response = client_for(viewer).post(
        "/api/workflows/validate", {"definition": document}, format="json"
    )
    assert response.status_code == 200
    report = response.json()
    assert report["valid"] is False
    [problem] = report["errors"]
    assert problem["code"] == "template_syntax" and problem["node"] == "log"
    assert problem["field"] == "nodes[1].data.message"
    assert Workflow.objects.count() == 0


def test_a_definition_with_thousands_of_problems_lists_a_bounded_number(
        client_for, editor, definition):
    # given a definition of 2,000 edges between nodes that do not exist
    document = definition(edges=[{"source": f"x{i}", "target": f"y{i}"} for i in range(2000)])
    client = client_for(editor)

    # when it is validated, and saved
    report = client.post("/api/workflows/validate", {"definition": document},
                         format="json").json()
    refused = client.post("/api/workflows", {"definition": document}, format="json")

    # then the first 100 problems are listed and the rest counted, not 4,000 of them
    assert report["valid"] is False
    assert len(report["errors"]) == 100
    assert report["omitted"] == {"errors": 3900, "warnings": 0}
    assert refused.status_code == 400
    assert len(refused.json()["details"]["errors"]) == 100
    assert refused.json()["message"].startswith("The definition has 4000 problem(s)")


def test_validate_accepts_yaml(client_for, viewer, definition):
    response = client_for(viewer).post(
        "/api/workflows/validate", yaml.safe_dump(definition()),
        content_type="application/yaml",
    )
    assert response.status_code == 200
    assert response.json() == {"valid": True, "errors": [], "warnings": []}


def test_validate_reports_yaml_syntax_with_line(client_for, viewer):
    response = client_for(viewer).post(
        "/api/workflows/validate", "name: x\nnodes: [\n  - broken",
        content_type="application/yaml",
    )
    assert response.status_code == 200
    [problem] = response.json()["errors"]
    assert problem["code"] == "syntax_error" and problem["details"]["line"] >= 2


# --- import and export ----------------------------------------------------------------------

def test_import_yaml_then_export_round_trips(client_for, editor, definition):
    # given a YAML document
    client = client_for(editor)
    document = yaml.safe_dump(definition(), sort_keys=False)
    # when it is imported
    response = client.post("/api/workflows/import", document, content_type="application/yaml")
    assert response.status_code == 201, response.json()
    assert response.json()["created"] is True
    workflow_id = response.json()["workflow"]["id"]
    # then exporting it as YAML and as JSON gives the same definition back
    exported_yaml = client.get(f"/api/workflows/{workflow_id}/export", {"format": "yaml"})
    assert exported_yaml.status_code == 200
    assert exported_yaml["Content-Type"].startswith("application/yaml")
    assert "attachment" in exported_yaml["Content-Disposition"]
    exported_json = client.get(f"/api/workflows/{workflow_id}/export", {"format": "json"})
    stored = client.get(f"/api/workflows/{workflow_id}").json()["definition"]
    assert yaml.safe_load(exported_yaml.content) == stored
    assert json.loads(exported_json.content) == stored
    # and importing the export again changes nothing
    again = client.post(
        "/api/workflows/import", exported_yaml.content, content_type="application/yaml"
    )
    assert again.status_code == 200
    assert again.json() == {**again.json(), "created": False, "version_created": False}
    assert again.json()["workflow"]["version"] == 1


def test_import_of_a_changed_document_adds_a_version(client_for, editor, definition):
    client = client_for(editor)
    client.post("/api/workflows/import", json.dumps(definition()), content_type="application/json")
    response = client.post(
        "/api/workflows/import", json.dumps(definition(description="new")),
        content_type="application/json",
    )
    assert response.status_code == 200
    assert response.json()["version_created"] is True
    assert response.json()["workflow"]["version"] == 2


def test_import_multipart_file(client_for, editor, definition, tmp_path):
    path = tmp_path / "hello.yaml"
    path.write_text(yaml.safe_dump(definition()))
    with path.open("rb") as upload:
        response = client_for(editor).post(
            "/api/workflows/import", {"file": upload}, format="multipart"
        )
    assert response.status_code == 201


def test_import_of_bad_yaml_is_400_with_line(client_for, editor):
    response = client_for(editor).post(
        "/api/workflows/import", "name: [unclosed", content_type="application/yaml"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "definition_syntax"
    assert response.json()["details"]["errors"][0]["details"]["line"] >= 1


def test_export_of_an_old_version(client_for, editor, definition):
    client = client_for(editor)
    workflow_id = create(client, definition()).json()["id"]
    client.put(
        f"/api/workflows/{workflow_id}", {"definition": definition(description="v2")},
        format="json",
    )
    response = client.get(f"/api/workflows/{workflow_id}/export", {"format": "json", "version": 1})
    assert json.loads(response.content)["description"] == "Says hello"
    bad = client.get(f"/api/workflows/{workflow_id}/export", {"format": "xml"})
    assert bad.status_code == 400 and "format" in bad.json()["details"]["fields"]


def test_definition_over_the_limit_is_413(client_for, editor, settings):
    settings.MAX_DEFINITION_BYTES = 10 * 1024 * 1024
    body = b"{" + b" " * (10 * 1024 * 1024) + b"}"
    response = client_for(editor).post(
        "/api/workflows/import", body, content_type="application/json"
    )
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


# --- delete, list -----------------------------------------------------------------------------

def test_delete_removes_the_workflow_and_audits_it(client_for, editor, definition):
    client = client_for(editor)
    workflow_id = create(client, definition()).json()["id"]
    assert client.delete(f"/api/workflows/{workflow_id}").status_code == 204
    assert client.get(f"/api/workflows/{workflow_id}").status_code == 404
    assert AuditLog.objects.filter(action="delete", object_id=workflow_id).exists()


def test_list_filters_searches_orders_and_paginates(client_for, editor, definition):
    client = client_for(editor)
    for name, tags in [("alpha", ["etl"]), ("beta", []), ("gamma", ["etl"])]:
        create(client, definition(name=name, description=f"the {name} flow"), tags=tags)
    client.patch(
        f"/api/workflows/{Workflow.objects.get(name='beta').pk}", {"active": False}, format="json"
    )

    by_tag = client.get("/api/workflows", {"tag": "etl"}).json()
    assert [w["name"] for w in by_tag["results"]] == ["alpha", "gamma"]
    inactive = client.get("/api/workflows", {"active": "false"}).json()
    assert [w["name"] for w in inactive["results"]] == ["beta"]
    searched = client.get("/api/workflows", {"search": "gamma flow"}).json()
    assert [w["name"] for w in searched["results"]] == ["gamma"]
    ordered = client.get("/api/workflows", {"ordering": "-name"}).json()
    assert [w["name"] for w in ordered["results"]] == ["gamma", "beta", "alpha"]
    page = client.get("/api/workflows", {"page_size": 2, "page": 2}).json()
    assert page["count"] == 3 and [w["name"] for w in page["results"]] == ["gamma"]
    assert "definition" not in page["results"][0]


# --- permissions ------------------------------------------------------------------------------

ENDPOINTS = [
    ("get", "/api/workflows", None),
    ("post", "/api/workflows", "write"),
    ("get", "/api/workflows/{id}", None),
    ("put", "/api/workflows/{id}", "write"),
    ("patch", "/api/workflows/{id}", "write"),
    ("delete", "/api/workflows/{id}", "write"),
    ("get", "/api/workflows/{id}/versions", None),
    ("get", "/api/workflows/{id}/versions/1", None),
    ("get", "/api/workflows/{id}/diff?from=1&to=1", None),
    ("get", "/api/workflows/{id}/export", None),
    ("post", "/api/workflows/import", "write"),
    ("post", "/api/workflows/validate", None),
]


@pytest.fixture
def existing(client_for, editor, definition):
    return create(client_for(editor), definition()).json()["id"]


@pytest.mark.parametrize(("method", "path", "needs"), ENDPOINTS)
def test_anonymous_gets_401(anonymous, existing, method, path, needs):
    response = getattr(anonymous, method)(path.format(id=existing))
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize(("method", "path", "needs"), ENDPOINTS)
def test_user_without_permission_gets_403(client_for, nobody, existing, method, path, needs):
    response = getattr(client_for(nobody), method)(path.format(id=existing), {}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


@pytest.mark.parametrize(("method", "path", "needs"), [e for e in ENDPOINTS if e[2] == "write"])
def test_viewer_cannot_write(client_for, viewer, existing, method, path, needs):
    response = getattr(client_for(viewer), method)(path.format(id=existing), {}, format="json")
    assert response.status_code == 403


def test_unknown_workflow_is_404(client_for, viewer):
    response = client_for(viewer).get("/api/workflows/00000000-0000-0000-0000-000000000000")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_audit_records_before_and_after_with_request_context(client_for, editor, definition):
    client = client_for(editor)
    response = client.post(
        "/api/workflows", {"definition": definition()}, format="json",
        HTTP_X_CORRELATION_ID="req-42",
    )
    workflow_id = response.json()["id"]
    assert response["X-Correlation-ID"] == "req-42"
    client.patch(f"/api/workflows/{workflow_id}", {"active": False}, format="json")
    created, updated = AuditLog.objects.filter(object_id=workflow_id).order_by("id")
    assert created.action == "create" and created.actor_repr == "editor"
    assert created.correlation_id == "req-42" and created.client_address == "127.0.0.1"
    assert updated.before["active"] is True and updated.after["active"] is False


# --- addressed as namespace/name ------------------------------------------------------------

BY_NAME = [
    ("get", "/api/workflows/{ref}", 200),
    ("patch", "/api/workflows/{ref}", 200),
    ("get", "/api/workflows/{ref}/versions", 200),
    ("get", "/api/workflows/{ref}/versions/1", 200),
    ("get", "/api/workflows/{ref}/diff?from=1&to=1", 200),
    ("get", "/api/workflows/{ref}/export", 200),
    ("post", "/api/workflows/{ref}/execute", 202),
]


@pytest.mark.parametrize(("method", "path", "status"), BY_NAME)
def test_a_workflow_is_addressed_by_namespace_and_name_as_by_id(
        client_for, wf_admin, existing, method, path, status):
    # given the workflow tests/hello
    client = client_for(wf_admin)
    # when a person names it as namespace/name (also with the slash percent-encoded)
    for ref in ["tests/hello", "tests%2Fhello", existing]:
        response = getattr(client, method)(path.format(ref=ref), {}, format="json")
        # then it is the same workflow as by its id
        assert response.status_code == status, (ref, response.content)
        if path == "/api/workflows/{ref}":
            assert response.json()["id"] == existing


@pytest.mark.parametrize("ref", ["tests/nothing", "nowhere/hello", "not-an-id"])
def test_an_unknown_namespace_and_name_is_a_404_naming_it(client_for, viewer, existing, ref):
    response = client_for(viewer).get(f"/api/workflows/{ref}/versions")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_a_workflow_named_like_an_action_is_addressed_by_its_name(
        client_for, editor, definition):
    # given a workflow named `versions` beside tests/hello
    client = client_for(editor)
    hello = create(client, definition()).json()["id"]
    named = create(client, definition(name="versions")).json()["id"]
    # then `tests/versions` is that workflow and `<id>/versions` the versions of hello
    assert client.get("/api/workflows/tests/versions").json()["id"] == named
    assert client.get(f"/api/workflows/{hello}/versions").json()[0]["number"] == 1
    assert client.get("/api/workflows/tests/versions/versions").status_code == 200


# --- triggers in the definition --------------------------------------------------------------

def test_an_editor_without_execute_cannot_subscribe_a_workflow_to_starts(
        client_for, editor, designer, definition):
    # given an editor (workflow.write, no workflow.execute) and an upstream workflow
    client = client_for(editor)
    assert create(client, definition(name="upstream")).status_code == 201
    plain = create(client, definition(name="plain")).json()
    event = definition(name="on-event", triggers=[{"event": "order.created"}])
    dependent = definition(name="after", settings={"dependencies": [{"workflow": "upstream"}]})
    # when the editor saves definitions that would start runs on an event or after another
    # workflow, new or as a change
    refused = [
        create(client, event),
        create(client, dependent),
        client.patch(f"/api/workflows/{plain['id']}",
                     {"definition": definition(name="plain", triggers=[{"event": "x"}])},
                     format="json"),
    ]
    # then each is refused and nothing subscribes
    for response in refused:
        assert response.status_code == 403, response.json()
        assert response.json()["code"] == "permission_denied"
    assert not Workflow.objects.filter(name__in=["on-event", "after"]).exists()
    assert Workflow.objects.get(name="plain").current_version.number == 1
    # while a designer may, and the editor may then change the graph, keeping them
    armed = create(client_for(designer), event).json()
    changed = {**event, "description": "Changed"}
    response = client.patch(f"/api/workflows/{armed['id']}", {"definition": changed},
                            format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["version"] == 2


def test_an_editor_without_execute_cannot_reactivate_a_workflow_whose_triggers_start_runs(
        client_for, editor, designer, definition):
    # given a workflow with an event trigger, switched off by its designer, and one without
    armed = create(client_for(designer),
                   definition(name="on-event", triggers=[{"event": "order.created"}])).json()
    plain = create(client_for(designer), definition(name="plain")).json()
    for workflow in (armed, plain):
        response = client_for(designer).patch(f"/api/workflows/{workflow['id']}",
                                              {"active": False}, format="json")
        assert response.status_code == 200, response.json()
    # when an editor (workflow.write, no workflow.execute) switches them on again
    client = client_for(editor)
    refused = client.patch(f"/api/workflows/{armed['id']}", {"active": True}, format="json")
    allowed = client.patch(f"/api/workflows/{plain['id']}", {"active": True}, format="json")
    # then the one whose trigger would start runs stays off, and the other is on
    assert refused.status_code == 403, refused.json()
    assert refused.json()["details"]["permission"] == "workflow.execute"
    assert Workflow.objects.get(pk=armed["id"]).active is False
    assert allowed.status_code == 200 and allowed.json()["active"] is True


@pytest.mark.parametrize("path", ["/api/executions", "/api/schedules", "/api/webhooks"])
def test_lists_filter_by_workflow_as_namespace_and_name(client_for, wf_admin, existing, path):
    # given one execution, schedule and webhook of tests/hello
    client = client_for(wf_admin)
    client.post(f"/api/workflows/{existing}/execute", {"input": {}}, format="json")
    client.post("/api/schedules", {"workflow": existing, "name": "daily", "cron": "@daily",
                                   "timezone": "UTC"}, format="json")
    client.post("/api/webhooks", {"workflow": existing, "name": "shop"}, format="json")
    # when a list is filtered by namespace/name, by id, by a name that is nobody's
    by_name = client.get(path, {"workflow": "tests/hello"})
    by_id = client.get(path, {"workflow": existing})
    nobody = client.get(path, {"workflow": "tests/nothing"})
    # then the first two answer alike and the third is empty; a value that is neither an
    # id nor namespace/name is a 400 naming the parameter
    assert by_name.status_code == by_id.status_code == nobody.status_code == 200
    assert by_name.json()["count"] == by_id.json()["count"] == 1
    assert nobody.json()["count"] == 0
    refused = client.get(path, {"workflow": "nonsense"})
    assert refused.status_code == 400 and "workflow" in refused.json()["details"]["fields"]
