"""The one place that reads the process environment.

Every variable a deployer may set is declared here with its default and a one-line
description; `docs/configuration.md` documents the same table, and a test keeps the
two in step.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DEVELOPMENT_SECRET_KEY = "development-only-secret-key-do-not-use-in-production"  # noqa: S105


@dataclass(frozen=True)
class Variable:
    """One environment variable the platform reads."""

    name: str
    default: str
    description: str


VARIABLES: dict[str, Variable] = {}


class ImproperlyConfiguredEnvironment(Exception):
    """An environment value that the platform refuses to start with."""


def _declare(name: str, default: str, description: str) -> str:
    VARIABLES[name] = Variable(name, default, description)
    return os.environ.get(name, default)


def env_str(name: str, default: str, description: str) -> str:
    return _declare(name, default, description)


def env_bool(name: str, default: bool, description: str) -> bool:
    raw = _declare(name, "true" if default else "false", description).strip().lower()
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off", ""}:
        return False
    raise ImproperlyConfiguredEnvironment(f"{name} must be true or false, not {raw!r}")


def env_int(name: str, default: int, description: str) -> int:
    raw = _declare(name, str(default), description)
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfiguredEnvironment(f"{name} must be an integer, not {raw!r}") from None


def env_list(name: str, default: list[str], description: str) -> list[str]:
    raw = _declare(name, ",".join(default), description)
    return [item.strip() for item in raw.split(",") if item.strip()]
