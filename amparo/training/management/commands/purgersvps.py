from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from amparo.training.events import purge_rsvps, rsvp_retention_days


class Command(BaseCommand):
    help = "Delete the personal data of RSVPs to events that ended over the retention period ago."

    def handle(self, *args: Any, **options: Any) -> None:
        purged = purge_rsvps()
        self.stdout.write(
            f"Deleted the personal data of {purged} RSVP(s) "
            f"to events that ended over {rsvp_retention_days()} days ago."
        )
