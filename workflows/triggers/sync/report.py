"""The report of a sync run: one result per workflow or schedule, with located errors."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


@dataclass
class SyncError:
    """One problem of a file, where it is: a 1-based line and column when known."""

    message: str
    line: int | None = None
    column: int | None = None
    field: str | None = None
    code: str = "invalid"
    file: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class FileResult:
    """What one file did: created, updated, unchanged or error (with its errors)."""

    file: str
    kind: str  # workflow | schedule | overlay | directory
    state: str  # created | updated | unchanged | error
    target: str = ""
    version: int | None = None
    errors: list[SyncError] = dataclasses.field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "errors": [e.as_dict() for e in self.errors]}


@dataclass
class SyncReport:
    """The outcome of one sync run, one result per item (workflow or schedule) of each file."""

    directory: str
    environment: str
    dry_run: bool = False
    started_at: str = ""
    finished_at: str = ""
    results: list[FileResult] = dataclasses.field(default_factory=list)

    def count(self, state: str) -> int:
        return sum(1 for result in self.results if result.state == state)

    @property
    def ok(self) -> bool:
        return self.count("error") == 0

    @property
    def summary(self) -> dict[str, int]:
        return {state: self.count(state)
                for state in ("created", "updated", "unchanged", "error")}

    def as_dict(self) -> dict[str, Any]:
        return {
            "directory": self.directory, "environment": self.environment,
            "dry_run": self.dry_run, "started_at": self.started_at,
            "finished_at": self.finished_at, "ok": self.ok, "summary": self.summary,
            "results": [result.as_dict() for result in self.results],
        }
