"""Apply a directory of workflow and schedule files (docs/workflow-files.md)."""

from __future__ import annotations

import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from workflows.triggers.sync import SyncReport, workflows_sync


class Command(BaseCommand):
    help = (
        "Create or update workflows from DIR/workflows/*.yml and schedules from "
        "DIR/schedules/*.yml; an unchanged file creates no version. Exits non-zero when a "
        "file failed."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("directory", help="The directory holding workflows/ and schedules/.")
        parser.add_argument(
            "--environment", default=None,
            help="Overlay to apply (orders.<env>.yml); default: WORKFLOW_ENVIRONMENT.",
        )
        parser.add_argument("--dry-run", action="store_true",
                            help="Report what would change without writing.")
        parser.add_argument(
            "--watch", action="store_true",
            help="Keep running: apply changed files every WORKFLOW_SYNC_INTERVAL seconds.",
        )
        parser.add_argument("--interval", type=float, default=None,
                            help="Seconds between two polls of --watch.")
        parser.add_argument("--iterations", type=int, default=0, help="Stop --watch after "
                            "this many polls (0: run until interrupted).")

    def handle(self, *args, **options) -> None:
        directory = Path(options["directory"])
        if not directory.is_dir():
            raise CommandError(f"{directory} is not a directory.")
        environment = options["environment"] or settings.WORKFLOW_ENVIRONMENT
        if not options["watch"]:
            report = workflows_sync(directory=directory, environment=environment,
                                    dry_run=options["dry_run"])
            self._print(report, quiet=False)
            if not report.ok:
                raise CommandError(f"{report.count('error')} file(s) failed.")
            return
        interval = options["interval"] or settings.WORKFLOW_SYNC_INTERVAL
        polls = 0
        self.stdout.write(f"Watching {directory} (environment {environment}) "
                          f"every {interval}s; Ctrl-C stops.")
        try:
            while True:
                report = workflows_sync(directory=directory, environment=environment,
                                        dry_run=options["dry_run"], skip_unchanged_files=True)
                self._print(report, quiet=True)
                polls += 1
                if options["iterations"] and polls >= options["iterations"]:
                    return
                time.sleep(interval)
        except KeyboardInterrupt:
            self.stdout.write("Stopped.")

    def _print(self, report: SyncReport, *, quiet: bool) -> None:
        """Every file's outcome (in --watch only what changed or failed), then the summary."""
        changes = [r for r in report.results if not quiet or r.state != "unchanged"]
        for result in changes:
            line = f"{result.state:9} {result.kind:8} {result.target or '-'}  {result.file}"
            if result.version:
                line += f"  (version {result.version})"
            self.stdout.write(line)
            for error in result.errors:
                file = error.file or result.file
                where = f"{file}:{error.line}" if error.line else file
                self.stderr.write(f"  {where}: {error.message}")
        if changes or not quiet:
            summary = ", ".join(f"{count} {state}" for state, count in report.summary.items())
            prefix = "Dry run: " if report.dry_run else ""
            self.stdout.write(f"{prefix}{summary}")
