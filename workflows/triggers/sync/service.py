"""`workflows_sync`: apply a directory of workflow and schedule files to the database."""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.core.cache import cache

from config.errors import ApplicationError
from workflows import services
from workflows.definitions import (
    DefinitionSyntaxError,
    Problem,
    definition_checksum,
    definition_normalize,
    definition_validate,
)
from workflows.errors import DefinitionInvalidError
from workflows.models import CatchUpPolicy, OverlapPolicy, Schedule, Workflow
from workflows.nodes.fragments import WORKFLOW_REFERENCE
from workflows.triggers.sync.files import (
    Source,
    by_node_id,
    deep_merge,
    field_parts,
    file_groups,
    load_any,
    load_mapping,
    locate,
    merge_schedules,
    problem_parts,
    read_source,
    signature_of,
    split_name,
    syntax_error,
)
from workflows.triggers.sync.report import FileResult, SyncError, SyncReport

logger = logging.getLogger("workflows.sync")

STATUS_CACHE_KEY = "weft:sync:status"
STATUS_TTL = 7 * 86400
SCHEDULE_KEYS = {
    "workflow", "name", "cron", "timezone", "enabled", "input", "overlap", "catch_up",
    "catch_up_limit", "retry", "timeout",
}
# schedule_create's arguments, by the file key they come from
SCHEDULE_FIELD_KEYS = {"retry_attempts": "retry.attempts", "retry_delay": "retry.delay"}

# --- The sync -------------------------------------------------------------------------------


class _Run:
    """One run of `workflows_sync`; `report` collects one result per workflow and schedule."""

    def __init__(self, *, directory: Path, environment: str, actor: Any, dry_run: bool,
                 skip_unchanged_files: bool) -> None:
        self.directory = directory
        self.environment = environment
        self.actor = actor
        self.dry_run = dry_run
        self.skip = skip_unchanged_files and not dry_run
        self.report = SyncReport(directory=str(directory), environment=environment,
                                 dry_run=dry_run)
        digest = hashlib.sha256(f"{directory.resolve()}|{environment}".encode()).hexdigest()
        self.memory_key = f"weft:sync:files:{digest[:32]}"
        self.memory: dict[str, Any] = cache.get(self.memory_key) or {} if self.skip else {}
        self.remembered: dict[str, Any] = {}
        self.defined: dict[tuple[str, str], str] = {}
        self.active = True  # the active flag of the last workflow applied

    # a file's result is remembered with its signature; an unchanged file is not read again
    def _recall(self, key: str, signature: list) -> list[FileResult] | None:
        entry = self.memory.get(key)
        if not self.skip or not entry or entry["signature"] != signature:
            return None
        return [FileResult(**{**result, "state": "unchanged", "errors": []})
                for result in entry["results"]]

    def _remember(self, key: str, signature: list, results: list[FileResult]) -> None:
        if all(result.state != "error" for result in results):
            self.remembered[key] = {
                "signature": signature,
                "results": [{k: v for k, v in result.as_dict().items() if k != "errors"}
                            for result in results],
            }

    def _error(self, result: FileResult, error: SyncError, file: Path) -> FileResult:
        result.state = "error"
        error.file = str(file)
        result.errors.append(error)
        return result

    def run(self) -> SyncReport:
        self.report.started_at = datetime.now(UTC).isoformat()
        if not self.directory.is_dir():
            self.report.results.append(self._logged(FileResult(
                file=str(self.directory), kind="directory", state="error",
                errors=[SyncError(f"{self.directory} is not a directory.",
                                  code="directory_not_found", file=str(self.directory))])))
        workflows_dir = self.directory / "workflows"
        groups, orphans = file_groups(workflows_dir)
        checksums = self._current_checksums() if self.skip else {}
        for base, overlays in groups:
            self.report.results.extend(self._guarded(
                base, "workflow", self._workflow, overlays.get(self.environment), checksums))
        for orphan in orphans:
            self.report.results.append(self._orphan(orphan, "workflow"))
        schedule_groups, schedule_orphans = file_groups(self.directory / "schedules")
        for base, overlays in schedule_groups:
            self.report.results.extend(self._guarded(
                base, "schedule", self._schedules, overlays.get(self.environment)))
        for orphan in schedule_orphans:
            self.report.results.append(self._orphan(orphan, "schedule"))
        self.report.finished_at = datetime.now(UTC).isoformat()
        if not self.dry_run:
            cache.set(self.memory_key, self.remembered, None)
        return self.report

    def _guarded(self, path: Path, kind: str, apply: Any, *args: Any) -> list[FileResult]:
        """Apply one file; a file that vanished or broke the sync is that file's error."""
        try:
            results = apply(path, *args)
            return results if isinstance(results, list) else [results]
        except OSError as exc:
            message, code = f"The file could not be read: {exc.strerror or exc}.", "unreadable"
        except Exception as exc:  # one broken file must not stop the others
            logger.exception("sync of %s failed", path, extra={"file": str(path)})
            message, code = f"The file could not be applied: {exc}", "sync_failed"
        result = FileResult(file=str(path), kind=kind, state="error")
        return [self._logged(self._error(result, SyncError(message, code=code), path))]

    def _orphan(self, path: Path, kind: str) -> FileResult:
        base, environment = split_name(path)
        result = FileResult(file=str(path), kind="overlay", state="error", target=kind)
        error = SyncError(f"Overlay for environment '{environment}' has no base file "
                          f"'{base}.yml' beside it.", line=1, column=1,
                          code="overlay_without_base")
        return self._logged(self._error(result, error, path))

    # --- workflows ---

    def _current_checksums(self) -> dict[tuple[str, str], tuple[str | None, bool]]:
        rows = Workflow.objects.values_list(
            "namespace", "name", "current_version__checksum", "active")
        return {(ns, name): (checksum, active) for ns, name, checksum, active in rows}

    def _workflow(self, base: Path, overlay: Path | None,
                  checksums: dict[tuple[str, str], tuple[str | None, bool]]) -> FileResult:
        paths = [base, *([overlay] if overlay else [])]
        key = "workflows:" + base.name
        signature = signature_of(paths)
        recalled = self._recall(key, signature)
        if recalled:
            entry = self.memory[key]
            ns_name = tuple(recalled[0].target.split("/", 1))
            if checksums.get(ns_name) == (entry.get("checksum"), entry.get("active")):
                self.defined[ns_name] = str(base)  # type: ignore[index]
                self.remembered[key] = entry
                return recalled[0]
        result = FileResult(file=str(base), kind="workflow", state="error")
        sources = [read_source(path) for path in paths]
        documents = []
        for source in sources:
            try:
                documents.append(load_mapping(source))
            except DefinitionSyntaxError as exc:
                return self._logged(self._error(result, syntax_error(exc), source.path))
        definition = documents[0]
        for document in documents[1:]:
            definition = deep_merge(definition, document)
        located = list(reversed(sources))
        problems = definition_validate(definition).errors
        if problems:
            for problem in problems:
                self._problem(result, problem, definition, located)
            return self._logged(result)
        normalized = definition_normalize(definition)
        namespace, name = normalized["namespace"], normalized["name"]
        result.target = f"{namespace}/{name}"
        if (namespace, name) in self.defined:
            file, line, column = locate(["name"], located)
            return self._logged(self._error(result, SyncError(
                f"'{namespace}/{name}' is also defined in {self.defined[(namespace, name)]}.",
                line, column, "name", "duplicate_workflow"), file))
        self.defined[(namespace, name)] = str(base)
        enabled = normalized["settings"].get("enabled")
        try:
            self._apply(result, normalized, enabled, base)
        except DefinitionInvalidError as exc:
            for problem in exc.details.get("errors", []):
                self._problem(result, Problem(**{**problem, "details": {}}), definition,
                              located)
        except ApplicationError as exc:
            fields = (exc.details or {}).get("fields") or {"name": [exc.message]}
            for field, messages in fields.items():
                file, line, column = locate(field_parts(field), located)
                for message in messages:
                    self._error(result, SyncError(f"{exc.message} {message}".strip(), line,
                                                  column, field, str(exc.code)), file)
        if result.state != "error":
            self._remember(key, signature, [result])
            if key in self.remembered:
                self.remembered[key].update(checksum=definition_checksum(normalized),
                                            active=self.active)
        return self._logged(result)

    def _apply(self, result: FileResult, normalized: dict[str, Any], enabled: bool | None,
               base: Path) -> None:
        namespace, name = normalized["namespace"], normalized["name"]
        existing = Workflow.objects.select_related("current_version").filter(
            namespace=namespace, name=name).first()
        note = f"Synced from {base.name}"
        self.active = (True if enabled is None else enabled) if existing is None else (
            existing.active if enabled is None else enabled)
        if existing is None:
            result.state, result.version = "created", 1
            if not self.dry_run:
                services.workflow_create(
                    definition=normalized, actor=self.actor, change_note=note,
                    active=True if enabled is None else enabled,
                )
            return
        current = existing.current_version
        changed = current is None or current.checksum != definition_checksum(normalized)
        active_changed = enabled is not None and enabled != existing.active
        result.version = current.number if current else None
        result.state = "updated" if changed or active_changed else "unchanged"
        if result.state == "unchanged" or self.dry_run:
            if changed:
                result.version = (result.version or 0) + 1
            return
        workflow, _ = services.workflow_update(
            workflow=existing, actor=self.actor, definition=normalized if changed else None,
            active=enabled if active_changed else None, change_note=note,
        )
        result.version = workflow.current_version.number

    def _problem(self, result: FileResult, problem: Problem, definition: dict[str, Any],
                 sources: list[Source]) -> None:
        parts = by_node_id(problem_parts(problem, definition), definition)
        file, line, column = locate(parts, sources)
        where = problem.field or problem.node or problem.edge
        self._error(result, SyncError(problem.message, line, column, where,
                                      str(problem.code)), file)

    def _logged(self, result: FileResult) -> FileResult:
        if result.state == "error":
            previous = self.memory.get("errors:" + result.file)
            current = [error.as_dict() for error in result.errors]
            if previous != current:
                for error in result.errors:
                    file = error.file or result.file
                    logger.error(
                        "%s:%s: %s", file, error.line, error.message,
                        extra={"file": file, "line": error.line, "column": error.column,
                               "field": error.field, "code": error.code,
                               "target": result.target},
                    )
            self.remembered["errors:" + result.file] = current
        elif result.state in ("created", "updated") and not self.dry_run:
            logger.info("%s %s (version %s) from %s", result.kind, result.state, result.version,
                        result.file, extra={"file": result.file, "target": result.target,
                                            "state": result.state, "version": result.version})
        return result

    # --- schedules ---

    def _schedules(self, base: Path, overlay: Path | None) -> list[FileResult]:
        paths = [base, *([overlay] if overlay else [])]
        key = "schedules:" + base.name
        signature = signature_of(paths)
        recalled = self._recall(key, signature)
        if recalled is not None:
            self.remembered[key] = self.memory[key]
            return recalled
        sources = [read_source(path) for path in paths]
        documents = []
        for source in sources:
            try:
                documents.append(load_any(source))
            except DefinitionSyntaxError as exc:
                result = FileResult(file=str(source.path), kind="schedule", state="error")
                return [self._logged(self._error(result, syntax_error(exc), source.path))]
        items = documents[0]
        for document in documents[1:]:
            items = merge_schedules(items, document)
        located = list(reversed(sources))
        if isinstance(items, dict):
            entries = [([], items)]
        elif isinstance(items, list):
            entries = [([index], item) for index, item in enumerate(items)]
        else:
            entries = [([], items)]
        results = [self._logged(self._schedule(prefix, item, base, located))
                   for prefix, item in entries]
        self._remember(key, signature, results)
        return results

    def _schedule(self, prefix: list[Any], item: Any, base: Path,
                  sources: list[Source]) -> FileResult:
        result = FileResult(file=str(base), kind="schedule", state="error")

        def fail(field: str | None, message: str, code: str = "invalid_schedule") -> FileResult:
            parts = [*prefix, *(field_parts(field) if field else [])]
            file, line, column = locate(parts, sources)
            return self._error(result, SyncError(message, line, column, field, code), file)

        if not isinstance(item, dict):
            return fail(None, "A schedule must be a mapping with `workflow` and `cron`.")
        fields, problems = _schedule_fields(item)
        if "workflow" in item and isinstance(item["workflow"], str):
            result.target = f"{item['workflow']}:{item.get('name', 'default')}"
        for field, message in problems:
            fail(field, message)
        if problems:
            return result
        reference = fields.pop("workflow")
        namespace, _, name = reference.rpartition("/")
        namespace = namespace or "default"
        result.target = f"{namespace}/{name}:{fields['name']}"
        from workflows.triggers.schedules import schedule_problems

        workflow = Workflow.objects.filter(namespace=namespace, name=name).first()
        fields["source"] = str(base)[-500:]
        problems = schedule_problems({**fields, "workflow": workflow})
        if workflow is None and self.dry_run and (namespace, name) in self.defined:
            problems.pop("workflow", None)
        elif workflow is None:
            problems["workflow"] = [f"There is no workflow '{namespace}/{name}'."]
        for field, messages in problems.items():
            for message in messages:
                fail(SCHEDULE_FIELD_KEYS.get(field, field), f"{field}: {message}")
        if problems:
            return result
        if workflow is None:
            result.state = "created"
            return result
        existing = Schedule.objects.filter(workflow=workflow, name=fields["name"]).first()
        try:
            if existing is None:
                result.state = "created"
                if not self.dry_run:
                    from workflows.triggers.schedules import schedule_create

                    schedule_create(workflow=workflow, actor=self.actor, **fields)
                return result
            changed = {key: value for key, value in fields.items()
                       if getattr(existing, key) != value}
            result.state = "updated" if changed else "unchanged"
            if changed and not self.dry_run:
                from workflows.triggers.schedules import schedule_update

                schedule_update(schedule=existing, actor=self.actor, **changed)
        except ApplicationError as exc:
            result.state = "error"
            for field, messages in ((exc.details or {}).get("fields")
                                    or {None: [exc.message]}).items():
                file_field = SCHEDULE_FIELD_KEYS.get(field, field) if field else None
                for message in messages:
                    fail(file_field, message, str(exc.code))
        return result


def _schedule_fields(item: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """schedule_create's arguments from a file's schedule, and the problems of its shape
    (the values themselves are checked by the schedule services' rules)."""
    problems: list[tuple[str, str]] = [
        (key, f"Unknown key '{key}'; allowed: {', '.join(sorted(SCHEDULE_KEYS))}.")
        for key in sorted(set(item) - SCHEDULE_KEYS)
    ]
    fields: dict[str, Any] = {
        "workflow": item.get("workflow"), "name": item.get("name", "default"),
        "cron": item.get("cron"), "timezone": item.get("timezone", "UTC"),
        "enabled": item.get("enabled", True), "input": item.get("input", {}),
        "overlap": item.get("overlap", OverlapPolicy.SKIP),
        "catch_up": item.get("catch_up", CatchUpPolicy.LATEST),
        "catch_up_limit": item.get("catch_up_limit", 10), "timeout": item.get("timeout"),
    }
    retry = item.get("retry", {})
    if not isinstance(retry, dict) or set(retry) - {"attempts", "delay"}:
        problems.append(("retry", "retry is a mapping with `attempts` and `delay`."))
        retry = {}
    fields["retry_attempts"] = retry.get("attempts", 0)
    fields["retry_delay"] = retry.get("delay", 60)
    if not isinstance(fields["workflow"], str) or not re.fullmatch(
            WORKFLOW_REFERENCE["pattern"], fields["workflow"]):
        problems.append(("workflow", "workflow is required: 'name' or 'namespace/name'."))
    return fields, problems


def workflows_sync(*, directory: str | Path, environment: str, actor: Any = None,
                   dry_run: bool = False, skip_unchanged_files: bool = False) -> SyncReport:
    """Apply `directory`'s workflow and schedule files for `environment`; see the module doc.

    `skip_unchanged_files` (hot reload, --watch) does not read again a file whose mtime and
    size are those of its last successful apply, as long as the workflow in the database is
    still the one that file made. The report is also kept for `GET /api/sync/status`.
    """
    run = _Run(directory=Path(directory), environment=environment, actor=actor,
               dry_run=dry_run, skip_unchanged_files=skip_unchanged_files)
    report = run.run()
    if not dry_run:
        cache.set(STATUS_CACHE_KEY, report.as_dict(), STATUS_TTL)
    return report


def sync_status() -> dict[str, Any] | None:
    """The report of the last sync run that was not a dry run, or None."""
    return cache.get(STATUS_CACHE_KEY)
