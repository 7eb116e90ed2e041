"""`amparo sendplanalerts`: retry plan alerts that failed for now or were cut short.

Scheduled every minute by `amparo worker`; safe to run as often as you like.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from amparo.preparedness.alerts import retry_alerts


class Command(BaseCommand):
    help = "Send plan-activation messages that are waiting, failed for now, or were interrupted."

    def handle(self, *args: Any, **options: Any) -> None:
        counts = retry_alerts()
        self.stdout.write(
            f"plan alerts sent: {counts.sent}, to retry: {counts.retrying}, "
            f"given up: {counts.failed}"
        )
