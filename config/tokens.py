"""JWT issue, rotation and revocation (config/authentication.py checks bearer tokens by
the same rules).

A refresh token is single-use: rotating it inserts it into the blacklist, and the unique
constraint on that row lets exactly one of several concurrent rotations of the same token
succeed. Every token carries `gen`, a digest of the user's password hash keyed with
SECRET_KEY (as Django's session auth hash is, under a salt of its own): a new password
makes every earlier token, access and refresh, fail. Deactivating a user refuses their
tokens at once (the user must be active), and the admin also blacklists their refresh
tokens, so reactivation does not bring old sessions back.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac
from rest_framework import status
from rest_framework_simplejwt.exceptions import ExpiredTokenError, TokenError
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken
from rest_framework_simplejwt.utils import datetime_from_epoch

from config.errors import ApplicationError, ErrorCode
from monitoring.models import AuditAction
from monitoring.services import audit_record

GENERATION_CLAIM = "gen"
GENERATION_SALT = "weft.tokens.generation"


class TokenInvalidError(ApplicationError):
    """An expired, revoked, spent or malformed token."""

    status_code = status.HTTP_401_UNAUTHORIZED
    code = ErrorCode.AUTHENTICATION_FAILED


def token_generation(user: Any) -> str:
    """Changes when the user's password changes (a keyed digest, not the hash itself)."""
    return salted_hmac(GENERATION_SALT, user.password, algorithm="sha256").hexdigest()[:32]


def tokens_issue(*, user: Any) -> RefreshToken:
    """A new refresh token (recorded as outstanding) whose access tokens carry `gen`."""
    refresh = RefreshToken.for_user(user)
    refresh[GENERATION_CLAIM] = token_generation(user)
    return refresh


def access_token_issue(*, user: Any) -> AccessToken:
    """An access token alone, with no refresh token (nothing is stored): for a process that
    acts as the user for one short task (the benchmark, tests)."""
    access = AccessToken.for_user(user)
    access[GENERATION_CLAIM] = token_generation(user)
    return access


def token_user(token: AccessToken | RefreshToken) -> Any:
    """The token's user, if active and the token is of their current password."""
    user = get_user_model().objects.filter(pk=token.get("user_id"), is_active=True).first()
    if user is None:
        raise TokenInvalidError("The token's user is gone or inactive.")
    if token.get(GENERATION_CLAIM) != token_generation(user):
        raise TokenInvalidError("The token was revoked (the password changed): sign in again.")
    return user


def _decoded(raw: str, token_class: type[RefreshToken] | type[AccessToken]) -> Any:
    kind = "refresh" if token_class is RefreshToken else "access"
    try:
        return token_class(raw)
    except ExpiredTokenError:
        raise TokenInvalidError(
            f"The {kind} token has expired: "
            + ("sign in again." if kind == "refresh" else "refresh it or sign in again.")
        ) from None
    except TokenError as exc:
        raise TokenInvalidError(f"The {kind} token is not valid: {exc}") from None


def _blacklist(token: RefreshToken) -> bool:
    """Blacklist the token; False when it already was (so another use came first)."""
    outstanding, _ = OutstandingToken.objects.get_or_create(
        jti=token["jti"],
        defaults={"user_id": token.get("user_id"), "token": str(token),
                  "expires_at": datetime_from_epoch(token["exp"])},
    )
    try:
        with transaction.atomic():
            BlacklistedToken.objects.create(token=outstanding)
    except IntegrityError:
        return False
    return True


def refresh_token_rotate(*, raw: str) -> tuple[Any, RefreshToken]:
    """Spend a refresh token for a new pair; of concurrent uses of one token, one wins."""
    old = _decoded(raw, RefreshToken)
    with transaction.atomic():
        user = token_user(old)
        if not _blacklist(old):
            raise TokenInvalidError("The refresh token is not valid: it was used already.")
        return user, tokens_issue(user=user)


def refresh_token_revoke(*, raw: str) -> None:
    """Log out: the refresh token can no longer be used (its access token runs out)."""
    token = _decoded(raw, RefreshToken)
    user = get_user_model().objects.filter(pk=token.get("user_id")).first()
    with transaction.atomic():
        if _blacklist(token):
            audit_record(actor=user, action=AuditAction.LOGOUT, object_type="user",
                         object_id=token.get("user_id", ""),
                         object_repr=user.get_username() if user else "")


def user_tokens_revoke(*, user: Any) -> int:
    """Blacklist every unexpired refresh token of the user; returns how many were live."""
    with transaction.atomic():
        live = list(OutstandingToken.objects.filter(
            user=user, expires_at__gt=timezone.now(), blacklistedtoken__isnull=True))
        BlacklistedToken.objects.bulk_create(
            [BlacklistedToken(token=token) for token in live], ignore_conflicts=True)
    return len(live)


def access_token_user(*, raw: str) -> Any:
    """The user of a valid access token; TokenInvalidError otherwise."""
    return token_user(_decoded(raw, AccessToken))
