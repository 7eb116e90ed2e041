"""`amparo loaddemo`: demo accounts for a local, DEBUG-only instance."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from amparo.accounts.services import create_demo_accounts


class Command(BaseCommand):
    help = "Create one enrolled account per role and a partner organization. DEBUG only."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError(
                "loaddemo refused: demo accounts have published passwords, so they are made "
                "only when DEBUG is on (DEBUG=1). Never on a real instance."
            )
        accounts = create_demo_accounts()
        self.stdout.write("DEMO ONLY — these accounts are for trying Amparo, never for real use.")
        for demo in accounts:
            self.stdout.write(
                f"  demo only  {demo.role:<12} username={demo.username}  "
                f"password={demo.password}  totp_secret={demo.totp_secret}"
            )
        self.stdout.write("Add the TOTP secret to an authenticator app to get sign-in codes.")
