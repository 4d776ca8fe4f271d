"""Webhook triggers: a secret URL, `POST /api/hooks/{token}`, whose JSON body starts a run.

Only the SHA-256 of the token is stored; the URL is shown once, at creation and rotation.
A request is checked in this order: the token (404, the same answer as an unknown Webhook
wait), the rate limit (429), the body's size (413), the signature when a signing secret
is set (401), a replay of a timestamped signature inside its window (409), the body (400
unless a JSON object); then the workflow starts (202). Neither the token nor the secret is
ever logged.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone
from redis.exceptions import RedisError
from rest_framework import status

from config.errors import ApplicationError, NotFoundError, PayloadTooLargeError
from config.parsers import JsonLimitError, json_loads
from executions.models import Execution
from executions.services.start import execution_start
from monitoring.models import AuditAction
from monitoring.services import audit_record
from workflows import encryption
from workflows.models import WebhookTrigger, Workflow
from workflows.permissions import trigger_arm_check

logger = logging.getLogger(__name__)

HOOK_NOT_FOUND = "No open hook at this address."  # unknown, disabled or closed: one answer
TOKEN_HINT_LENGTH = 6
IDEMPOTENCY_KEY_MAX = 150
RATE_WINDOW = 60  # seconds of a rate-limit window
_UNCHANGED: Any = object()


class WebhookConflictError(ApplicationError):
    status_code = status.HTTP_409_CONFLICT
    code = "webhook_exists"


class WebhookNotFoundError(NotFoundError):
    """No enabled trigger has this token (the answer is the same as for an unknown wait)."""


class WebhookSignatureError(ApplicationError):
    """A missing or wrong signature, or a timestamp outside the replay window."""

    status_code = status.HTTP_401_UNAUTHORIZED
    code = "signature_invalid"


class WebhookRateLimitedError(ApplicationError):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    code = "throttled"

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"This hook accepts a limited number of requests a minute; retry in "
            f"{retry_after} s.", details={"retry_after": retry_after},
        )
        self.retry_after = retry_after


class WebhookReplayError(ApplicationError):
    """A signed request seen before inside its tolerance window."""

    status_code = status.HTTP_409_CONFLICT
    code = "signature_replayed"


class WebhookReplayCheckUnavailableError(ApplicationError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    code = "replay_check_unavailable"


class WebhookBodyInvalidError(ApplicationError):
    code = "body_invalid"


class WebhookMediaTypeError(ApplicationError):
    status_code = status.HTTP_415_UNSUPPORTED_MEDIA_TYPE
    code = "unsupported_media_type"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_token() -> tuple[str, str, str]:
    """A fresh token with its hash and hint."""
    token = secrets.token_urlsafe(32)
    return token, _hash(token), token[:TOKEN_HINT_LENGTH]


LAST_USED_EVERY = timedelta(minutes=1)  # how stale a trigger's `last_used_at` may be


def hook_path(token: str) -> str:
    return f"/api/hooks/{token}"


def _snapshot(trigger: WebhookTrigger) -> dict[str, Any]:
    return {
        "workflow": str(trigger.workflow), "name": trigger.name, "enabled": trigger.enabled,
        "token_hint": trigger.token_hint, "has_signing_secret": trigger.signing_secret is not None,
        "signature_header": trigger.signature_header,
        "timestamp_header": trigger.timestamp_header, "tolerance": trigger.tolerance,
        "max_body_bytes": trigger.max_body_bytes, "rate_limit": trigger.rate_limit,
    }


def _conflict(trigger_name: str) -> WebhookConflictError:
    return WebhookConflictError(
        f"The workflow already has a webhook named '{trigger_name}'.",
        details={"fields": {"name": [f"'{trigger_name}' is taken."]}},
    )


def _audit(actor: Any, action: AuditAction, trigger: WebhookTrigger,
           before: dict | None = None) -> None:
    audit_record(actor=actor, action=action, object_type="webhook", object_id=trigger.pk,
                 object_repr=str(trigger), before=before,
                 after=None if action == AuditAction.DELETE else _snapshot(trigger))


def webhook_create(
    *,
    workflow: Workflow,
    actor: Any,
    name: str = "default",
    enabled: bool = True,
    signing_secret: str | None = None,
    signature_header: str = "X-Weft-Signature",
    timestamp_header: str = "X-Weft-Timestamp",
    tolerance: int = 300,
    max_body_bytes: int = 1_048_576,
    rate_limit: int = 60,
) -> tuple[WebhookTrigger, str]:
    """Create a webhook trigger; returns it and its token (shown once, never stored)."""
    if enabled:
        trigger_arm_check(actor=actor, what="An enabled webhook trigger")
    token, token_hash, hint = _new_token()
    try:
        with transaction.atomic():
            trigger = WebhookTrigger.objects.create(
                workflow=workflow, name=name, enabled=enabled, token_hash=token_hash,
                token_hint=hint,
                signing_secret=encryption.encrypt(signing_secret) if signing_secret else None,
                signature_header=signature_header, timestamp_header=timestamp_header,
                tolerance=tolerance, max_body_bytes=max_body_bytes, rate_limit=rate_limit,
            )
            _audit(actor, AuditAction.CREATE, trigger)
    except IntegrityError:
        raise _conflict(name) from None
    return trigger, token


def webhook_update(*, trigger: WebhookTrigger, actor: Any, signing_secret: Any = _UNCHANGED,
                   **fields: Any) -> WebhookTrigger:
    """Change a trigger's settings; `signing_secret` "" or None removes the secret, and
    leaving it out keeps it. The token stays (see `webhook_rotate`)."""
    allowed = {"name", "enabled", "signature_header", "timestamp_header", "tolerance",
               "max_body_bytes", "rate_limit"}
    unknown = set(fields) - allowed
    if unknown:
        raise ApplicationError(f"Unknown webhook field(s): {', '.join(sorted(unknown))}.",
                               details={"fields": {name: ["Unknown field."] for name in unknown}})
    try:
        with transaction.atomic():
            locked = WebhookTrigger.objects.select_for_update().select_related(
                "workflow").get(pk=trigger.pk)
            before = _snapshot(locked)
            for name, value in fields.items():
                setattr(locked, name, value)
            if locked.enabled:  # disabling stops runs, and needs no more than writing
                trigger_arm_check(actor=actor, what="Changing an enabled webhook trigger")
            if signing_secret is not _UNCHANGED:
                locked.signing_secret = (encryption.encrypt(signing_secret)
                                         if signing_secret else None)
            locked.save()
            _audit(actor, AuditAction.UPDATE, locked, before)
    except IntegrityError:
        raise _conflict(fields.get("name", trigger.name)) from None
    return locked


def webhook_rotate(*, trigger: WebhookTrigger, actor: Any) -> str:
    """Give the trigger a new token; the old URL stops working at once. Returns the token."""
    trigger_arm_check(actor=actor, what="A new webhook URL")
    token, token_hash, hint = _new_token()
    with transaction.atomic():
        locked = WebhookTrigger.objects.select_for_update().select_related(
            "workflow").get(pk=trigger.pk)
        before = _snapshot(locked)
        locked.token_hash, locked.token_hint = token_hash, hint
        locked.rotated_at = timezone.now()
        locked.save(update_fields=["token_hash", "token_hint", "rotated_at"])
        _audit(actor, AuditAction.ROTATE, locked, before)
    trigger.token_hash, trigger.token_hint = token_hash, hint
    trigger.rotated_at = locked.rotated_at
    return token


def webhook_delete(*, trigger: WebhookTrigger, actor: Any) -> None:
    with transaction.atomic():
        _audit(actor, AuditAction.DELETE, trigger, _snapshot(trigger))
        trigger.delete()


def webhook_find(*, token: str) -> WebhookTrigger | None:
    """The enabled trigger of a token, or None."""
    return WebhookTrigger.objects.select_related("workflow", "workflow__current_version").filter(
        token_hash=_hash(token), enabled=True).first()


def _rate_check(trigger: WebhookTrigger) -> None:
    """A fixed window per trigger and minute, counted in the shared cache (Redis)."""
    if not trigger.rate_limit:
        return
    now = time.time()
    window = int(now // RATE_WINDOW)
    key = f"webhook-rate:{trigger.pk}:{window}"
    try:
        cache.add(key, 0, timeout=RATE_WINDOW * 2)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr: this request opens the window
            cache.add(key, 1, timeout=RATE_WINDOW * 2)
            count = 1
    except RedisError as exc:  # fail open: a cache outage must not stop the hooks
        logger.warning("webhook rate limit not checked: %s", exc)
        return
    if count > trigger.rate_limit:
        raise WebhookRateLimitedError(retry_after=max(1, int((window + 1) * RATE_WINDOW - now)))


def _signature_check(trigger: WebhookTrigger, body: bytes,
                     headers: Mapping[str, str]) -> int | None:
    """Refuse a missing or wrong signature; returns the signed time when there is one."""
    given = headers.get(trigger.signature_header.lower(), "").strip()
    if not given:
        raise WebhookSignatureError(
            f"The {trigger.signature_header} header is missing: this hook needs signed "
            "requests.", details={"header": trigger.signature_header})
    secret = encryption.decrypt(trigger.signing_secret).encode()
    signed = body
    if trigger.timestamp_header:
        stamp = headers.get(trigger.timestamp_header.lower(), "").strip()
        try:
            sent_at = int(stamp)
        except ValueError:
            raise WebhookSignatureError(
                f"The {trigger.timestamp_header} header must hold the signing time in Unix "
                "seconds.", code="timestamp_invalid",
                details={"header": trigger.timestamp_header}) from None
        if abs(time.time() - sent_at) > trigger.tolerance:
            raise WebhookSignatureError(
                f"The {trigger.timestamp_header} header is more than {trigger.tolerance} s "
                "away from now; sign the request again.", code="timestamp_invalid",
                details={"header": trigger.timestamp_header, "tolerance": trigger.tolerance})
        signed = f"{sent_at}.".encode() + body
    expected = "sha256=" + hmac.new(secret, signed, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), given.encode()):
        raise WebhookSignatureError(
            f"The {trigger.signature_header} header does not match the body.",
            details={"header": trigger.signature_header})
    return sent_at if trigger.timestamp_header else None


def _replay_check(trigger: WebhookTrigger, signature: str, sent_at: int,
                  idempotency_key: str) -> str | None:
    """Remember a timestamped signature until its timestamp leaves the tolerance window, and
    refuse it when it comes again, unless it comes again with the Idempotency-Key it first
    came with (a sender's retry, which starts nothing new).

    The first request stores its key with SET NX, so of two concurrent copies one wins.
    Without Redis the check cannot be made, and the hook refuses rather than run twice.
    Returns the key remembered now, or None when this is an accepted retry.
    """
    digest = hashlib.sha256(signature.encode()).hexdigest()
    key = f"webhook-replay:{trigger.pk}:{digest}"
    remember = max(1, int(sent_at + trigger.tolerance - time.time()) + 1)
    marker = f"key:{idempotency_key}" if idempotency_key else "no-key"
    try:
        if cache.add(key, marker, timeout=remember):
            return key
        first = cache.get(key)
    except RedisError as exc:
        logger.warning("webhook replay check not possible: %s", exc)
        raise WebhookReplayCheckUnavailableError(
            "The hook cannot check signed requests for replays now; retry later.") from None
    if idempotency_key and first == marker:
        return None
    raise WebhookReplayError(
        "This signed request was received before; sign each request anew (a new "
        f"{trigger.timestamp_header}) or retry with the Idempotency-Key it first had.",
        details={"header": trigger.signature_header})


def _input(body: bytes, content_type: str) -> dict[str, Any]:
    if not body.strip():
        return {}
    media = content_type.split(";")[0].strip().lower()
    if media and media != "application/json" and not media.endswith("+json"):
        raise WebhookMediaTypeError(
            f"The body must be JSON (application/json), not {media}.",
            details={"fields": {"body": ["Send a JSON object."]}})
    try:
        value = json_loads(body)
    except JsonLimitError as exc:
        field = exc.path or "body"  # a value's path in the body, as every endpoint names it
        raise WebhookBodyInvalidError(
            f"The body is not valid JSON: {exc.message}",
            details={"fields": {field: [exc.message]}}) from None
    if not isinstance(value, dict):
        raise WebhookBodyInvalidError(
            "The body must be a JSON object: it becomes the execution's input.",
            details={"fields": {"body": [f"A JSON object, not {type(value).__name__}."]}})
    return value


def webhook_fire(*, token: str, body: bytes, headers: Mapping[str, str],
                 content_type: str = "application/json",
                 correlation_id: str = "") -> tuple[Execution, bool]:
    """Start the trigger's workflow with the JSON body as input; an `Idempotency-Key`
    header starts it once per key. Returns the execution and whether it was created now."""
    trigger = webhook_find(token=token)
    if trigger is None:
        raise WebhookNotFoundError(HOOK_NOT_FOUND)
    headers = {name.lower(): value for name, value in headers.items()}
    _rate_check(trigger)
    if len(body) > trigger.max_body_bytes:
        raise PayloadTooLargeError(
            f"The body is larger than this hook's maximum of {trigger.max_body_bytes} bytes.",
            details={"max_body_bytes": trigger.max_body_bytes})
    key = headers.get("idempotency-key", "").strip()
    if len(key) > IDEMPOTENCY_KEY_MAX:
        raise ApplicationError(
            f"The Idempotency-Key header is longer than {IDEMPOTENCY_KEY_MAX} characters.",
            details={"fields": {"Idempotency-Key": ["Too long."]}})
    remembered = None
    if trigger.signing_secret is not None:
        sent_at = _signature_check(trigger, body, headers)
        if sent_at is not None:
            remembered = _replay_check(
                trigger, headers[trigger.signature_header.lower()].strip(), sent_at, key)
    input_ = _input(body, content_type)
    try:
        execution, created = execution_start(
            workflow=trigger.workflow, input=input_, trigger="webhook",
            idempotency_key=f"webhook:{trigger.pk}:{key}" if key else None,
            correlation_id=correlation_id,
        )
    except Exception:
        if remembered:  # nothing started: the sender may send the same request again
            cache.delete(remembered)
        raise
    now = timezone.now()
    # Kept to the minute: every request writing the trigger's one row would queue all of
    # a busy hook's requests on its row lock, one commit after the other.
    if trigger.last_used_at is None or now - trigger.last_used_at >= LAST_USED_EVERY:
        WebhookTrigger.objects.filter(pk=trigger.pk).update(last_used_at=now)
    return execution, created
