"""EmailNotification against a real SMTP server on loopback (aiosmtpd), and Django's backend."""

from __future__ import annotations

import email
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message
from functools import partial

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from executions.services.external import external_call
from tests.engine import attempt, attempt_fault, attempt_output, run
from workflows import services as workflow_services
from workflows.nodes.builtin.integration import EmailNotification
from workflows.nodes.faults import FaultClass

USER, PASSWORD = "weft", "s3cret-pa55"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Mailbox:
    """What the SMTP server received; `reply_rcpt`/`reply_data` make it refuse instead."""

    port: int = 0
    messages: list[tuple[list[str], Message]] = field(default_factory=list)
    reply_rcpt: str | None = None
    reply_data: str | None = None

    async def handle_RCPT(self, server, session, envelope, address, options):  # noqa: N802
        if self.reply_rcpt:
            return self.reply_rcpt
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if self.reply_data:
            return self.reply_data
        self.messages.append((list(envelope.rcpt_tos), email.message_from_bytes(envelope.content)))
        return "250 Message accepted for delivery"

    def url(self, scheme: str = "smtp", password: str = PASSWORD) -> str:
        return f"{scheme}://{USER}:{password}@127.0.0.1:{self.port}"


def authenticate(server, session, envelope, mechanism, auth_data) -> AuthResult:
    login = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password)
    # handled=False: the server answers 235 or 535 itself
    return AuthResult(success=login == (USER.encode(), PASSWORD.encode()), handled=False)


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    """A real SMTP server on 127.0.0.1 that asks for a login (over plain SMTP, for tests)."""
    box = Mailbox(port=free_port())
    controller = Controller(box, hostname="127.0.0.1", port=box.port,
                            authenticator=authenticate, auth_require_tls=False)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


context_for = partial(attempt, EmailNotification, node_id="mail")
execute = partial(attempt_output, EmailNotification, node_id="mail")
fault_of = partial(attempt_fault, EmailNotification, node_id="mail")


def test_the_platform_backend_sends_text_and_html(mailoutbox, settings):
    # given the platform's email settings (Django's test backend here)
    settings.DEFAULT_FROM_EMAIL = "Weft <weft@example.com>"
    # when a node sends to a templated list, with cc, bcc and an HTML alternative
    output = execute({"to": "{{ input.team }}", "cc": ["boss@example.com"],
                      "bcc": ["audit@example.com"], "subject": "Report for {{ input.day }}",
                      "body": "See attached.", "html": "<p>See <b>attached</b>.</p>"},
                     team=["ann@example.com", "bob@example.com"], day="Monday")
    # then one message went out with both bodies, the default sender, and every recipient
    [message] = mailoutbox
    assert message.subject == "Report for Monday"
    assert message.from_email == "Weft <weft@example.com>"
    assert message.body == "See attached."
    assert message.alternatives[0][:2] == ("<p>See <b>attached</b>.</p>", "text/html")
    assert output["recipients"] == ["ann@example.com", "bob@example.com", "boss@example.com",
                                    "audit@example.com"]
    assert output["message_id"] == message.extra_headers["Message-ID"]
    assert output["message_id"].endswith("@example.com>")


def test_the_platform_smtp_settings_reach_a_real_server(mailbox, settings):
    # given the platform configured for the SMTP server, without credentials
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", mailbox.port
    # when a node sends a message
    output = execute({"to": ["ann@example.com"], "subject": "Hello", "body": "Hi Ann",
                      "from": "ops@example.com"})
    # then the server received it, with the Message-ID the node reported
    [(recipients, message)] = mailbox.messages
    assert recipients == ["ann@example.com"]
    assert message["Subject"] == "Hello"
    assert message["From"] == "ops@example.com"
    assert message["Message-ID"] == output["message_id"]


@pytest.mark.django_db
def test_a_connection_secret_replaces_the_settings_and_logs_in(mailbox):
    # given a secret with the server's URL and credentials
    workflow_services.secret_create(name="smtp_ops", value=mailbox.url(), actor=None)
    # when a node sends through it, with bcc
    output = execute({"connection": "smtp_ops", "to": ["ann@example.com"],
                      "bcc": ["hidden@example.com"], "subject": "Via secret", "body": "x",
                      "html": "<i>x</i>"})
    # then the server got it for both, the bcc address not in any header
    [(recipients, message)] = mailbox.messages
    assert recipients == ["ann@example.com", "hidden@example.com"]
    assert "hidden@example.com" not in message.as_string()
    assert message.get_content_type() == "multipart/alternative"
    assert output["recipients"] == ["ann@example.com", "hidden@example.com"]


@pytest.mark.django_db
def test_refusals_are_classified_and_never_show_the_password(mailbox):
    # given a wrong password, then a server refusing recipients, then refusing the data
    workflow_services.secret_create(name="smtp_wrong", value=mailbox.url(password="wrong-pw"),
                                    actor=None)
    workflow_services.secret_create(name="smtp_ok", value=mailbox.url(), actor=None)
    data = {"to": ["ann@example.com"], "subject": "s", "body": "b"}
    wrong = fault_of({**data, "connection": "smtp_wrong"})
    mailbox.reply_rcpt = "550 5.1.1 No such user"
    rejected = fault_of({**data, "connection": "smtp_ok"})
    mailbox.reply_rcpt = "451 4.3.0 Try again later"
    deferred = fault_of({**data, "connection": "smtp_ok"})
    mailbox.reply_rcpt, mailbox.reply_data = None, "554 5.7.1 Message refused"
    refused_data = fault_of({**data, "connection": "smtp_ok"})
    # then a 5xx answer is external, a 4xx transient, and no message names a password
    assert wrong.fault_class == FaultClass.EXTERNAL and "535" in wrong.message
    assert rejected.fault_class == FaultClass.EXTERNAL and "550" in rejected.message
    assert deferred.fault_class == FaultClass.TRANSIENT and "451" in deferred.message
    assert refused_data.fault_class == FaultClass.EXTERNAL and "554" in refused_data.message
    for fault in (wrong, rejected, deferred, refused_data):
        assert "Node 'mail'" in fault.message
        assert "wrong-pw" not in fault.message and PASSWORD not in fault.message
    assert mailbox.messages == []


@pytest.mark.django_db
def test_a_server_that_is_not_listening_is_transient():
    # given a secret naming a port nothing listens on
    workflow_services.secret_create(name="smtp_down",
                                    value=f"smtp://u:hunter2@127.0.0.1:{free_port()}", actor=None)
    # when a node sends
    fault = fault_of({"connection": "smtp_down", "to": ["a@example.com"], "subject": "s"})
    # then it will be retried, and the password is not shown
    assert fault.fault_class == FaultClass.TRANSIENT
    assert "cannot reach the mail server" in fault.message
    assert "hunter2" not in fault.message


def test_bad_addresses_after_rendering_are_validation_faults(mailoutbox):
    fault = fault_of({"to": "{{ ['ok@example.com', 'not an address'] }}", "subject": "s"})
    assert fault.fault_class == FaultClass.VALIDATION
    assert "data.to[1]" in fault.message
    assert mailoutbox == []


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("worker")
def test_a_workflow_sends_once_even_when_the_attempt_is_delivered_again(mailbox):
    # given a workflow mailing the input's recipient through the test server's secret
    workflow_services.secret_create(name="smtp_test", value=mailbox.url(), actor=None)
    definition = {
        "name": "mail", "namespace": "nodes",
        "nodes": [{"id": "mail", "type": "EmailNotification",
                   "data": {"connection": "smtp_test", "to": ["{{ input.to }}"],
                            "subject": "Order {{ input.order }} shipped",
                            "body": "Your order {{ input.order }} is on its way."}}],
    }
    # when it runs on the worker
    execution = run(definition, {"to": "ann@example.com", "order": 42})
    # then one message arrived, and the output names it
    assert execution.status == "completed", execution.error
    output = execution.nodes.get(node_id="mail").output
    [(recipients, message)] = mailbox.messages
    assert recipients == ["ann@example.com"]
    assert message["Subject"] == "Order 42 shipped"
    assert output == {"message_id": message["Message-ID"], "recipients": ["ann@example.com"]}
    # when the same node run is attempted again (a redelivered message after a crash)
    node, context = context_for(definition["nodes"][0]["data"], execution_id=str(execution.pk),
                                run_external=external_call, to="ann@example.com", order=42)
    again = node.execute(context)
    # then nothing more was sent, and the attempt returns what the first one recorded
    assert len(mailbox.messages) == 1
    assert again == output


SMUGGLED = [
    "ann@example.com, victim@example.org",
    "<ann@example.com>, <victim@example.org>",
    "ann@example.com;victim@example.org",
    "ann@example.com victim@example.org",
    "Ann <ann@example.com> <victim@example.org>",
    "team: ann@example.com, victim@example.org;",
    "ann@example.com\r\nBcc: victim@example.org",
    "ann@example.com\nvictim@example.org",
    '"ann@example.com, victim@example.org"',
]


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["to", "cc", "bcc"])
@pytest.mark.parametrize("smuggled", SMUGGLED)
def test_a_list_item_holding_several_addresses_is_refused_and_nothing_is_sent(
        mailbox, key, smuggled):
    # given a secret for the real SMTP server
    workflow_services.secret_create(name="smtp_ops", value=mailbox.url(), actor=None)
    data = {"connection": "smtp_ops", "to": ["ann@example.com"], "subject": "s", "body": "b"}
    # when a recipient list item (from the input) holds more than one address
    fault = fault_of({**data, key: ["ann@example.com", "{{ input.address }}"]},
                     address=smuggled)
    # then the node fails on that field and index, and the server received nothing
    assert fault.fault_class == FaultClass.VALIDATION
    assert f"data.{key}[1]" in fault.message
    assert mailbox.messages == []


@pytest.mark.django_db
@pytest.mark.parametrize("smuggled", SMUGGLED)
def test_a_sender_holding_several_addresses_is_refused(mailbox, smuggled):
    workflow_services.secret_create(name="smtp_ops", value=mailbox.url(), actor=None)
    fault = fault_of({"connection": "smtp_ops", "to": ["ann@example.com"], "subject": "s",
                      "from": "{{ input.address }}"}, address=smuggled)
    assert fault.fault_class == FaultClass.VALIDATION
    assert "data.from" in fault.message
    assert mailbox.messages == []


@pytest.mark.django_db
def test_a_line_break_in_the_subject_is_refused_naming_the_field(mailbox):
    workflow_services.secret_create(name="smtp_ops", value=mailbox.url(), actor=None)
    fault = fault_of({"connection": "smtp_ops", "to": ["ann@example.com"],
                      "subject": "{{ input.subject }}"},
                     subject="Hello\r\nBcc: victim@example.org")
    assert fault.fault_class == FaultClass.VALIDATION
    assert "data.subject" in fault.message
    assert mailbox.messages == []


def test_one_address_per_item_is_what_validation_accepts():
    from workflows.definitions import node_validate

    # given literal lists in a definition, one item smuggling a second address
    result = node_validate({"id": "m", "type": "EmailNotification", "data": {
        "to": ["Ann <ann@example.com>", '"Smith, Bob" <bob@example.com>',
               "ann@example.com, victim@example.org"],
        "subject": "s"}})
    # then only that item is refused, by field and index
    assert [problem.field for problem in result.errors] == ["data.to[2]"]
