"""Load the demo workflows shipped in workflows/demo/ (idempotent: unchanged files add nothing)."""

from pathlib import Path

from django.core.management.base import BaseCommand

from workflows import services

DEMO_DIR = Path(__file__).resolve().parents[2] / "demo"


class Command(BaseCommand):
    help = "Import the demo workflows; a file that did not change creates no new version."

    def handle(self, *args, **options) -> None:
        for path in sorted(DEMO_DIR.glob("*.yaml")):
            workflow, created, version_created = services.workflow_import(
                document=path.read_bytes(), fmt="yaml", actor=None, change_note="Demo"
            )
            state = "created" if created else "updated" if version_created else "unchanged"
            self.stdout.write(f"Demo workflow {workflow} ({state}, version "
                              f"{workflow.current_version.number})")
