"""Re-encrypt every secret with the newest key in SECRETS_KEYS."""

from django.core.management.base import BaseCommand

from workflows import services


class Command(BaseCommand):
    help = "Re-encrypt all secrets with the first key of SECRETS_KEYS (after prepending a new one)."

    def handle(self, *args, **options) -> None:
        count = services.secrets_rotate()
        self.stdout.write(f"Re-encrypted {count} secret(s) with the newest key.")
