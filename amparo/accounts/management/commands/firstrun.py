"""`amparo firstrun`: on a database with no coordinator, print a link that creates the first."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from amparo.accounts.services import issue_bootstrap_invitation


class Command(BaseCommand):
    help = "On a database with no coordinator, print a one-time link that creates the first one."

    def handle(self, *args: Any, **options: Any) -> None:
        issued = issue_bootstrap_invitation()
        if issued is None:
            return
        self.stdout.write(f"Open this link to create the first coordinator account: {issued.url}")
