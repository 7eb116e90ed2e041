"""`amparo periodic`: enqueue the housekeeping that is due, once (for cron or a timer)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from amparo.ops.schedule import available_housekeeping, enqueue_due


class Command(BaseCommand):
    help = (
        "Enqueue each housekeeping command whose period has come round; `amparo worker` runs them."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        enqueued = enqueue_due()
        for entry in available_housekeeping():
            state = "enqueued" if entry.command in enqueued else "already enqueued this period"
            self.stdout.write(f"{entry.command} (every {entry.every}): {state}")
