"""The one way a node attempt reads secrets, and the redaction of what it read.

Templates see `secrets.<name>` as an opaque `Secret` (workflows.templating) that renders
only into the fields its node type declares secret-bearing; a node reads a secret its data
names (`connection`, `auth.secret`) with `NodeContext.secret`. Both go through one
`SecretsView` per attempt, which remembers every value it decrypted: the engine replaces
those values with '***' in whatever it stores or logs, a second line of defence behind the
opaque type (a peer echoing a credential back, a driver quoting it in an error).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from workflows.templating import Secret, SecretSource

REDACTED = "***"

# Reads a stored secret's decrypted value by name, or raises KeyError: the secrets store's
# reader, set when the app is ready (workflows/apps.py), so that node types reach the
# store only through their context.
_read: Callable[[str], str] | None = None


def secret_reader_set(read: Callable[[str], str]) -> None:
    global _read  # noqa: PLW0603 - set once, at start-up
    _read = read


class SecretsView(SecretSource):
    """The secrets of one node attempt: decrypted on first use, remembered for redaction."""

    def __init__(self) -> None:
        self._used: dict[str, str] = {}

    def value(self, name: str) -> str:
        """The decrypted value; KeyError when there is no secret of that name."""
        if name not in self._used:
            if _read is None:
                raise KeyError(name)
            self._used[name] = _read(name)
        return self._used[name]

    def secret(self, name: str) -> Secret:
        return Secret(name, self.value(name))

    def redact(self, value: Any) -> Any:
        """`value` with every secret read so far replaced by '***' (and no `Secret` left)."""
        if not self._used:  # nothing read, so nothing to hide: a Secret is read to exist
            return value
        if isinstance(value, Secret):
            return REDACTED
        if isinstance(value, str):
            for secret in self._used.values():
                if secret:
                    value = value.replace(secret, REDACTED)
            return value
        if isinstance(value, dict):
            return {key: self.redact(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.redact(item) for item in value]
        return value
