"""The template library: every template instantiates; parameters; one runs end to end;
the admin's "Create from template" page."""

from __future__ import annotations

import email
import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message

import pytest
from aiosmtpd.controller import Controller

from config.errors import PermissionDeniedError
from executions.services import execution_start
from tests.engine import wait_for
from tests.servers import json_peer
from workflows import services as workflow_services
from workflows.definitions import definition_validate
from workflows.models import Schedule, Workflow
from workflows.triggers.library import (
    TemplateParametersError,
    template_get,
    template_instantiate,
    template_list,
    template_render,
)

pytestmark = pytest.mark.django_db

NAMES = ["approval-escalation", "http-alert", "scheduled-report", "etl-loop", "webhook-fanout"]


def test_the_library_has_the_five_templates_with_described_parameters():
    templates = {template.name: template for template in template_list()}
    assert sorted(templates) == sorted(NAMES)
    for template in templates.values():
        assert template.title and template.description and template.parameters
        for parameter in template.parameters:
            assert parameter.type and parameter.description, (template.name, parameter.name)


@pytest.mark.parametrize("name", NAMES)
def test_every_template_instantiates_with_its_defaults(name, editor):
    # when a template is instantiated with no parameter given
    workflow = template_instantiate(name=name, parameters={}, workflow_name=f"from-{name}",
                                    namespace="library", actor=editor)
    # then it is a valid workflow at version 1, tagged with its template
    definition = workflow.current_version.definition
    assert definition_validate(definition).ok
    assert (workflow.namespace, workflow.name, workflow.current_version.number) == (
        "library", f"from-{name}", 1)
    assert f"template:{name}" in workflow.tags.values_list("name", flat=True)
    assert "[[" not in json.dumps(definition)


def test_parameters_fill_placeholders_and_keep_runtime_templates():
    rendered = template_render(template_get("http-alert"), {
        "url": "https://api.example.com/ping", "recipients": ["a@example.com", "b@example.com"],
        "smtp_connection": "smtp_ops",
    })["definition"]
    nodes = {node["id"]: node for node in rendered["nodes"]}
    assert nodes["check"]["data"]["url"] == "https://api.example.com/ping"
    assert nodes["alert"]["data"]["to"] == ["a@example.com", "b@example.com"]  # native list
    assert nodes["alert"]["data"]["connection"] == "smtp_ops"
    assert "{{ nodes.check.status }}" in nodes["alert"]["data"]["body"]
    assert rendered["description"] == (
        "Checks https://api.example.com/ping and emails a@example.com, b@example.com when it "
        "fails.")


def test_a_null_parameter_leaves_its_key_out():
    rendered = template_render(template_get("http-alert"), {})["definition"]
    alert = next(node for node in rendered["nodes"] if node["id"] == "alert")
    assert "connection" not in alert["data"]


def test_typed_parameters_keep_their_type():
    rendered = template_render(template_get("webhook-fanout"), {"concurrency": 7,
                                                                "wait": False})["definition"]
    fanout = rendered["nodes"][0]["data"]
    assert fanout["concurrency"] == 7
    assert fanout["body"]["nodes"][0]["data"]["wait"] is False


@pytest.mark.parametrize(("parameters", "named"), [
    ({"nope": 1}, "parameters.nope"),
    ({"concurrency": "four"}, "parameters.concurrency"),
    ({"concurrency": 0}, "parameters.concurrency"),
    ({"child_workflow": "Not A Name"}, "parameters.child_workflow"),
])
def test_bad_parameters_are_refused_naming_the_parameter(parameters, named, editor):
    with pytest.raises(TemplateParametersError) as raised:
        template_instantiate(name="webhook-fanout", parameters=parameters,
                             workflow_name="fan", actor=editor)
    assert raised.value.status_code == 400
    assert named in raised.value.details["fields"]
    assert not Workflow.objects.filter(name="fan").exists()


def test_the_suggested_schedule_is_created_on_request(designer):
    workflow = template_instantiate(
        name="scheduled-report", parameters={"cron": "0 6 * * *", "timezone": "Europe/Paris"},
        workflow_name="daily", actor=designer, create_schedule=True)
    schedule = Schedule.objects.get(workflow=workflow)
    assert (schedule.name, schedule.cron, schedule.timezone) == ("report", "0 6 * * *",
                                                                 "Europe/Paris")


def test_a_refused_schedule_creates_no_workflow(editor):
    with pytest.raises(Exception) as raised:
        template_instantiate(name="scheduled-report", parameters={"cron": "99 * * * *"},
                             workflow_name="daily", actor=editor, create_schedule=True)
    assert raised.value.status_code == 400
    assert not Workflow.objects.filter(name="daily").exists()


def test_an_editor_without_execute_cannot_instantiate_with_a_schedule(editor):
    with pytest.raises(PermissionDeniedError):
        template_instantiate(name="scheduled-report", parameters={"cron": "0 6 * * *"},
                             workflow_name="daily", actor=editor, create_schedule=True)
    assert not Workflow.objects.filter(name="daily").exists()


# --- end to end: the HTTP check alerts by email, on a real worker ---------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Mailbox:
    port: int
    messages: list[tuple[list[str], Message]] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.messages.append((list(envelope.rcpt_tos), email.message_from_bytes(envelope.content)))
        return "250 Message accepted for delivery"


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox(port=free_port())
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


@pytest.fixture
def unhealthy_server() -> Iterator[str]:
    with json_peer(lambda path: (503, {"status": "down"})) as base:
        yield f"{base}/health"


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("worker")
def test_the_http_alert_template_emails_when_the_endpoint_fails(mailbox, unhealthy_server):
    # given the HTTP-to-email template pointed at a failing local endpoint and SMTP server
    workflow_services.secret_create(name="smtp_alerts",
                                    value=f"smtp://127.0.0.1:{mailbox.port}", actor=None)
    workflow = template_instantiate(
        name="http-alert", workflow_name="health-check", actor=None,
        parameters={"url": unhealthy_server, "recipients": ["oncall@example.com"],
                    "smtp_connection": "smtp_alerts"},
    )
    # when it runs on a worker
    execution, _ = execution_start(workflow=workflow, input={}, actor=None)
    execution = wait_for(execution)
    # then the check saw the 503, the branch was taken and one alert was mailed
    assert execution.status == "completed", execution.error
    assert execution.nodes.get(node_id="failing").output == {"branch": "true"}
    [(recipients, message)] = mailbox.messages
    assert recipients == ["oncall@example.com"]
    assert message["Subject"] == "Alert: default/health-check needs attention"
    assert "503" in message.get_payload() and "down" in message.get_payload()


# --- admin ------------------------------------------------------------------------------


@pytest.fixture
def staff_client(client, editor):
    editor.is_staff = True
    editor.save()
    client.force_login(editor)
    return client


def test_the_admin_list_offers_create_from_template(staff_client):
    page = staff_client.get("/admin/workflow/workflow/")
    assert page.status_code == 200
    assert "/admin/workflow/workflow/from-template/" in page.content.decode()


def test_the_admin_page_renders_and_creates_a_workflow(staff_client):
    page = staff_client.get("/admin/workflow/workflow/from-template/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Approval with escalation" in text and "escalation_approver" in text
    response = staff_client.post("/admin/workflow/workflow/from-template/", {
        "template": "approval-escalation", "name": "expenses", "namespace": "finance",
        "parameters": json.dumps({"approver": "role:finance", "timeout": 3600}),
    })
    workflow = Workflow.objects.get(namespace="finance", name="expenses")
    assert response.status_code == 302
    assert response["Location"].endswith(f"/admin/workflow/workflow/{workflow.pk}/change/")
    first = workflow.current_version.definition["nodes"][0]["data"]
    assert first["assignee"] == "role:finance" and first["timeout"] == 3600


def test_the_admin_page_shows_parameter_errors(staff_client):
    response = staff_client.post("/admin/workflow/workflow/from-template/", {
        "template": "approval-escalation", "name": "expenses", "namespace": "default",
        "parameters": json.dumps({"timeout": "soon"}),
    })
    assert response.status_code == 200
    assert "parameters.timeout" in response.content.decode()
    assert not Workflow.objects.filter(name="expenses").exists()


def test_the_admin_page_needs_workflow_write(client, viewer):
    viewer.is_staff = True
    viewer.save()
    client.force_login(viewer)
    assert client.get("/admin/workflow/workflow/from-template/").status_code == 403
