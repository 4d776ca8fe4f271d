"""Encryption of secrets at rest with a rotatable key list (cryptography's MultiFernet)."""

from __future__ import annotations

import base64
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def _derived_development_key() -> bytes:
    # Only when SECRETS_KEYS is unset, which the production profile refuses.
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"weft-secrets")
    return base64.urlsafe_b64encode(hkdf.derive(settings.SECRET_KEY.encode()))


@cache
def _keyring(keys: tuple[str, ...]) -> MultiFernet:
    try:
        fernets = [Fernet(key) for key in keys] if keys else [Fernet(_derived_development_key())]
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(f"SECRETS_KEYS holds an invalid Fernet key: {exc}") from None
    return MultiFernet(fernets)


def keyring() -> MultiFernet:
    """The current keys; the first encrypts, every one decrypts."""
    return _keyring(tuple(settings.SECRETS_KEYS))


def encrypt(value: str) -> bytes:
    return keyring().encrypt(value.encode())


def decrypt(ciphertext: bytes) -> str:
    return keyring().decrypt(bytes(ciphertext)).decode()


def reencrypt(ciphertext: bytes) -> bytes:
    """The same value encrypted with the newest key."""
    return keyring().rotate(bytes(ciphertext))


__all__ = ["InvalidToken", "decrypt", "encrypt", "keyring", "reencrypt"]
