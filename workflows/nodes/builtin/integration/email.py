"""EmailNotification: mail through Django's email backend (SMTP in production)."""

from __future__ import annotations

import smtplib
import ssl
import uuid
from email.utils import parseaddr
from typing import Any
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.core.mail import BadHeaderError, EmailMultiAlternatives, get_connection

from workflows.nodes.base import NodeCategory, NodeType
from workflows.nodes.context import NodeContext
from workflows.nodes.faults import (
    ExternalFault,
    TimeoutFault,
    TransientFault,
    ValidationFault,
)
from workflows.nodes.fragments import (
    SECRET_NAME,
    email_address_problem,
    templated,
)

ADDRESS_LIST: dict[str, Any] = {"type": "array", "items": {"type": "string", "minLength": 1}}
SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
SMTP_SCHEMES = {"smtp": (25, False, False), "smtp+starttls": (587, True, False),
                "smtps": (465, False, True)}


def _smtp_fault(context: NodeContext, exc: smtplib.SMTPResponseException) -> Exception:
    """4xx is a temporary refusal (retried as transient); 5xx a rejection (external)."""
    reply = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) \
        else str(exc.smtp_error)
    message = f"Node '{context.node_id}': the mail server refused: {exc.smtp_code} {reply}"
    if 400 <= exc.smtp_code < 500:
        return TransientFault(message)
    return ExternalFault(message)


def _header_problem(value: str) -> str | None:
    """Why a value cannot go into a mail header: a line break would start a header of its
    own (Bcc: ...)."""
    if any(character in value for character in "\r\n\0"):
        return "a header may not hold a line break"
    return None


class EmailNotification(NodeType):
    name = "EmailNotification"
    reads_outputs = False
    category = NodeCategory.INTEGRATION
    description = (
        "Send an email through the configured email backend (SMTP in production), or through "
        "the SMTP server a secret names. A redelivered attempt does not send it twice."
    )
    data_schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["to", "subject"],
        "properties": {
            "to": templated({**ADDRESS_LIST, "minItems": 1, "description": "Recipients."}),
            "cc": templated(ADDRESS_LIST),
            "bcc": templated(ADDRESS_LIST),
            "subject": {"type": "string", "minLength": 1},
            "body": {"type": "string", "description": "Plain-text body."},
            "html": {"type": "string", "description": "HTML body, sent as an alternative."},
            "from": {"type": "string", "description": "Sender; default: DEFAULT_FROM_EMAIL."},
            "connection": {
                **SECRET_NAME,
                "description": "Name of a secret holding an SMTP URL that replaces the "
                "platform's email settings for this node: smtp://user:password@host:port "
                "(plain, port 25), smtp+starttls://... (STARTTLS, port 587) or smtps://... "
                "(TLS, port 465); user and password are optional. Default: the platform's "
                "EMAIL_* settings.",
            },
        },
    }
    output_schema = {
        "type": "object",
        "required": ["message_id", "recipients"],
        "properties": {
            "message_id": {
                "type": "string",
                "description": "The Message-ID header, stable across retries of this node run.",
            },
            "recipients": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Every address the message was sent to: to, cc, then bcc.",
            },
        },
    }

    @classmethod
    def validate_data(cls, data: dict[str, Any]) -> list[tuple[str, str]]:
        problems = []
        for key in ("to", "cc", "bcc"):
            if isinstance(data.get(key), list):
                for index, address in enumerate(data[key]):
                    problem = email_address_problem(address)
                    if problem:
                        problems.append((f"{key}[{index}]", problem))
        if isinstance(data.get("from"), str) and (problem := email_address_problem(data["from"])):
            problems.append(("from", problem))
        if isinstance(data.get("subject"), str) and (problem := _header_problem(data["subject"])):
            problems.append(("subject", problem))
        return problems

    def execute(self, context: NodeContext) -> Any:
        data = context.data
        to, cc, bcc = (self._addresses(context, key) for key in ("to", "cc", "bcc"))
        if not to:
            raise ValidationFault(f"Node '{context.node_id}' data.to: no recipient.")
        sender = data.get("from") or settings.DEFAULT_FROM_EMAIL
        if problem := email_address_problem(str(sender)):
            raise ValidationFault(f"Node '{context.node_id}' data.from: {problem}.")
        subject = str(data["subject"])
        if problem := _header_problem(subject):
            raise ValidationFault(f"Node '{context.node_id}' data.subject: {problem}.")
        domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
        message_id = f"<weft.{uuid.uuid5(uuid.NAMESPACE_URL, context.idempotency_key).hex}" \
                     f"@{domain}>"
        message = EmailMultiAlternatives(
            subject=subject, body=str(data.get("body", "")), from_email=sender,
            to=to, cc=cc, bcc=bcc, headers={"Message-ID": message_id},
        )
        if data.get("html"):
            message.attach_alternative(str(data["html"]), "text/html")
        request = {"message_id": message_id, "to": to, "cc": cc, "bcc": bcc,
                   "subject": message.subject}
        return context.external_call(request, lambda key: self._send(context, message))

    def _addresses(self, context: NodeContext, key: str) -> list[str]:
        value = context.data.get(key) or []
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise ValidationFault(
                f"Node '{context.node_id}' data.{key} must be a list of addresses.")
        for index, address in enumerate(value):
            problem = email_address_problem(address) if isinstance(address, str) else \
                f"{address!r} is not an email address"
            if problem:
                raise ValidationFault(f"Node '{context.node_id}' data.{key}[{index}]: {problem}.")
        return value

    def _backend(self, context: NodeContext) -> Any:
        name = context.data.get("connection")
        if not name:
            return get_connection(fail_silently=False)
        url = urlsplit(context.secret(name, field="connection"))
        if url.scheme.lower() not in SMTP_SCHEMES or not url.hostname:
            raise ValidationFault(
                f"Node '{context.node_id}' data.connection: the secret '{name}' does not hold "
                "an smtp://, smtp+starttls:// or smtps:// URL with a host.")
        default_port, starttls, implicit_tls = SMTP_SCHEMES[url.scheme.lower()]
        return get_connection(
            SMTP_BACKEND, fail_silently=False, host=url.hostname, port=url.port or default_port,
            username=unquote(url.username or ""), password=unquote(url.password or ""),
            use_tls=starttls, use_ssl=implicit_tls, timeout=settings.EMAIL_TIMEOUT,
        )

    def _send(self, context: NodeContext, message: EmailMultiAlternatives) -> dict[str, Any]:
        where = f"Node '{context.node_id}'"
        try:
            message.connection = self._backend(context)
            message.send()
        except BadHeaderError as exc:
            raise ValidationFault(f"{where}: {exc}") from None
        except smtplib.SMTPRecipientsRefused as exc:
            codes = sorted({code for code, _ in exc.recipients.values()})
            refused = ", ".join(sorted(exc.recipients))
            fault = TransientFault if all(400 <= code < 500 for code in codes) else ExternalFault
            raise fault(f"{where}: the mail server refused every recipient ({refused}; "
                        f"codes {', '.join(map(str, codes))}).") from None
        except smtplib.SMTPResponseException as exc:
            raise _smtp_fault(context, exc) from None
        except smtplib.SMTPServerDisconnected as exc:
            raise TransientFault(f"{where}: the mail server closed the connection: {exc}") \
                from None
        except TimeoutError:
            raise TimeoutFault(f"{where}: the mail server did not answer in time.") from None
        except ssl.SSLError as exc:
            raise ExternalFault(f"{where}: TLS with the mail server failed: {exc.reason}") \
                from None
        except (OSError, smtplib.SMTPException) as exc:
            raise TransientFault(f"{where}: cannot reach the mail server: {exc}") from None
        return {"message_id": message.extra_headers["Message-ID"],
                "recipients": message.recipients()}
