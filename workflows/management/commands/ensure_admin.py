"""Create the first administrator when there is none: credentials from the environment,
or a generated password printed once (and stored nowhere)."""

import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create an admin user from WEFT_ADMIN_USERNAME/EMAIL/PASSWORD if none exists."

    def handle(self, *args, **options) -> None:
        users = get_user_model()
        # An empty variable counts as unset (compose passes empty values through).
        username = os.environ.get("WEFT_ADMIN_USERNAME") or "admin"
        if users.objects.filter(username=username).exists():
            self.stdout.write(f"Admin user '{username}' exists; leaving it as it is.")
            return
        given = os.environ.get("WEFT_ADMIN_PASSWORD") or ""
        password = given or secrets.token_urlsafe(12)
        users.objects.create_superuser(
            username=username,
            email=os.environ.get("WEFT_ADMIN_EMAIL") or f"{username}@localhost",
            password=password,
        )
        if given:
            self.stdout.write(f"Created admin user '{username}' (password from the environment).")
        else:
            self.stdout.write(self.style.WARNING(
                f"Created admin user '{username}' with password: {password}\n"
                "It is shown this once; change it in the admin."
            ))
