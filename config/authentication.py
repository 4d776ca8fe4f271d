"""The API's bearer authentication (DEFAULT_AUTHENTICATION_CLASSES).

Kept apart from config/tokens.py, which imports the error contract and so DRF's views:
DRF imports this module while it loads its settings, before those can be imported.
"""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import ExpiredTokenError, TokenError
from rest_framework_simplejwt.tokens import AccessToken


class TokenAuthentication(JWTAuthentication):
    """simplejwt's bearer authentication, refusing tokens of a changed password and saying
    "expired" when a token is."""

    def get_validated_token(self, raw_token: bytes) -> AccessToken:
        try:
            return AccessToken(raw_token)
        except ExpiredTokenError:
            raise AuthenticationFailed(
                "The access token has expired: refresh it or sign in again.") from None
        except TokenError as exc:
            raise AuthenticationFailed(f"The access token is not valid: {exc}") from None

    def get_user(self, validated_token: AccessToken) -> Any:
        from config import tokens

        try:
            return tokens.token_user(validated_token)
        except tokens.TokenInvalidError as exc:
            raise AuthenticationFailed(exc.message) from None
