"""The operators' admin: workflows with read-only versions, read-only audit, secrets."""

from __future__ import annotations

import pytest
import yaml

from monitoring.models import AuditLog
from workflows import services

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator_client(client, wf_admin):
    wf_admin.is_staff = True
    wf_admin.save()
    client.force_login(wf_admin)
    return client


@pytest.fixture
def workflow(editor, definition):
    return services.workflow_create(definition=definition(), actor=editor, tags=["demo"])


def test_workflow_list_shows_the_operator_columns(operator_client, workflow):
    page = operator_client.get("/admin/workflow/workflow/", {"q": "hello"})
    assert page.status_code == 200
    text = page.content.decode()
    assert "hello" in text and "tests" in text and "editor" in text


def test_workflow_page_shows_versions_read_only(operator_client, workflow):
    page = operator_client.get(f"/admin/workflow/workflow/{workflow.pk}/change/")
    assert page.status_code == 200
    text = page.content.decode()
    assert workflow.current_version.checksum in text
    assert 'name="versions-0-change_note"' not in text  # the inline has no inputs


def test_saving_a_changed_definition_in_the_admin_adds_a_version(operator_client, workflow):
    definition = yaml.safe_load(yaml.safe_dump(workflow.current_version.definition))
    definition["description"] = "edited by an operator"
    response = operator_client.post(
        f"/admin/workflow/workflow/{workflow.pk}/change/",
        {
            "definition": yaml.safe_dump(definition), "change_note": "admin edit",
            "active": "on", "tags": [tag.pk for tag in workflow.tags.all()],
            "versions-TOTAL_FORMS": "1", "versions-INITIAL_FORMS": "1",
            "versions-MIN_NUM_FORMS": "0", "versions-MAX_NUM_FORMS": "1000",
            "versions-0-id": workflow.current_version.pk, "versions-0-workflow": workflow.pk,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    workflow.refresh_from_db()
    assert workflow.current_version.number == 2
    assert workflow.description == "edited by an operator"
    assert AuditLog.objects.filter(action="update", object_id=str(workflow.pk)).exists()


def test_an_invalid_definition_in_the_admin_names_the_node(operator_client, workflow):
    definition = dict(workflow.current_version.definition)
    definition["nodes"] = [{"id": "x", "type": "Nope", "data": {}}]
    response = operator_client.post(
        f"/admin/workflow/workflow/{workflow.pk}/change/",
        {"definition": yaml.safe_dump(definition), "active": "on",
         "versions-TOTAL_FORMS": "0", "versions-INITIAL_FORMS": "0",
         "versions-MIN_NUM_FORMS": "0", "versions-MAX_NUM_FORMS": "1000"},
    )
    assert response.status_code == 200
    assert "x: " in response.content.decode()
    workflow.refresh_from_db()
    assert workflow.current_version.number == 1


def test_version_admin_is_read_only(operator_client, workflow):
    version = workflow.current_version
    page = operator_client.get(f"/admin/workflow/workflowversion/{version.pk}/change/")
    assert page.status_code == 200
    assert operator_client.get("/admin/workflow/workflowversion/add/").status_code == 403


def test_audit_log_admin_is_read_only(operator_client, workflow):
    entry = AuditLog.objects.first()
    assert operator_client.get("/admin/monitoring/auditlog/").status_code == 200
    assert operator_client.get(f"/admin/monitoring/auditlog/{entry.pk}/change/").status_code == 200
    assert operator_client.get("/admin/monitoring/auditlog/add/").status_code == 403
    delete = operator_client.post(f"/admin/monitoring/auditlog/{entry.pk}/delete/", {"post": "yes"})
    assert delete.status_code == 403
    assert AuditLog.objects.filter(pk=entry.pk).exists()


def test_editor_without_admin_permission_cannot_see_secrets_or_audit(client, editor):
    editor.is_staff = True
    editor.save()
    client.force_login(editor)
    assert client.get("/admin/workflow/secret/").status_code == 403
    assert client.get("/admin/monitoring/auditlog/").status_code == 403
    assert client.get("/admin/workflow/workflow/").status_code == 200


def test_users_and_groups_are_administered(admin_client, editor):
    users = admin_client.get("/admin/auth/user/")
    assert users.status_code == 200 and "editor" in users.content.decode()
    groups = admin_client.get("/admin/auth/group/").content.decode()
    for name in ["workflow-viewers", "workflow-editors", "workflow-operators", "workflow-admins"]:
        assert name in groups
