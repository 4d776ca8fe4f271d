"""What templates are given beside plain data: secrets as opaque values, and the named roots
of the scope (`input`, `vars`, `nodes`) whose missing keys say which they are."""

from __future__ import annotations

import contextvars
from collections.abc import Iterator, Mapping
from typing import Any

from jinja2.exceptions import SecurityError


class TemplateRenderError(Exception):
    """A template failed to render: an undefined name, a sandbox refusal, output too big."""


class TemplateLimitError(SecurityError):
    """A template would build a value over the configured size."""


class SecretMisuse(SecurityError):
    """A secret was used other than placed, as it is, in a secret-bearing field."""


class Secret:
    """`secrets.<name>` in a template: a value that cannot become ordinary text there.

    Every way to look into it is refused. The renderer unwraps it only when it is placed,
    as it is, in a field its node type declares secret-bearing (`reveal_secrets`).
    """

    __slots__ = ("_name", "_value")

    def __init__(self, name: str, value: str) -> None:
        self._name = name
        self._value = value

    def __repr__(self) -> str:
        return f"<secret {self._name}>"

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise SecretMisuse(
            f"secrets.{self._name} can only be placed as it is, e.g. "
            f"'{{{{ secrets.{self._name} }}}}', in a field that carries credentials; "
            "filters, operators, slicing and comparisons do not apply to it")

    __str__ = __format__ = __iter__ = __reversed__ = __len__ = __getitem__ = _refuse
    __contains__ = __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = _refuse
    __add__ = __radd__ = __mul__ = __rmul__ = __mod__ = __rmod__ = _refuse
    __hash__ = object.__hash__


def secret_text(secret: Secret) -> str:
    """The value of a secret, for the renderer and the node reading its own credential."""
    return secret._value


class SecretSource:
    """`secrets` in a template: `secrets.<name>` is a `Secret`; nothing else can be read
    from it (no attributes, no iteration, no listing of names)."""

    def secret(self, name: str) -> Secret:
        """The named secret; KeyError when there is none."""
        raise NotImplementedError

    def __getitem__(self, name: str) -> Secret:
        return self.secret(name)

    def __iter__(self) -> Iterator[str]:
        raise SecretMisuse("the names of the secrets cannot be listed in a template")


class Named(dict):
    """A mapping at the root of the scope (`input`, `vars`, `nodes`) that knows its name, so a
    missing key says which one (`input.threshold is not set`)."""

    __slots__ = ("_path",)

    def __init__(self, path: str, values: Mapping[str, Any] | None) -> None:
        super().__init__(values or {})
        self._path = path


def named(path: str, values: Any) -> Any:
    """`values` as a `Named` mapping when it is a mapping, else unchanged."""
    return Named(path, values) if isinstance(values, Mapping) else values


def missing_message(path: str, key: str) -> str:
    return (f"{path}.{key} is not set; test it with '{path}.{key} is defined' or give a "
            f"default with '{path}.{key} | default(...)'")


# Set while a secret-bearing field renders: a Secret placed there becomes its value.
reveal = contextvars.ContextVar("reveal_secrets", default=False)
