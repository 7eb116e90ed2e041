"""`amparo checkpoint`: sign a checkpoint of the custody log as it is now."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy

from amparo.cli import TranslatedCommand
from amparo.custody.evidence import evidence_store


class Command(TranslatedCommand):
    help = gettext_lazy(
        "Sign a checkpoint of the custody log (none if the log has not grown) and print it."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        # The signed checkpoint itself: machine-readable, never translated.
        self.stdout.write(evidence_store().checkpoint(), ending="")
