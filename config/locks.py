"""Owner tokens of the platform's Redis locks, so an operator can read who holds one.

A redis-py `Lock` stores a random token as its value; only the holder of the token may
extend or release the lock. The platform's tokens are `<host>/<pid>/<random hex>`: still
unguessable, and `GET /api/performance/locks/active` shows the host and process (never
the random part, which would let a reader release the lock).
"""

from __future__ import annotations

import os
import socket
import uuid


def lock_token() -> str:
    """A new owner token naming this host and process."""
    return f"{socket.gethostname()}/{os.getpid()}/{uuid.uuid4().hex}"


def lock_owner(token: bytes | str | None) -> str | None:
    """`host/pid` of a token made by `lock_token`; None for any other value."""
    if isinstance(token, bytes):
        token = token.decode("utf-8", "replace")
    if not isinstance(token, str):
        return None
    host, _, rest = token.partition("/")
    pid, _, random = rest.partition("/")
    if not host or not pid.isdigit() or not random:
        return None
    return f"{host}/{pid}"
