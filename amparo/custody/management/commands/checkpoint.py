"""`amparo checkpoint`: sign a checkpoint of the custody log as it is now."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from amparo.custody.evidence import evidence_store


class Command(BaseCommand):
    help = "Sign a checkpoint of the custody log (none if the log has not grown) and print it."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(evidence_store().checkpoint(), ending="")
