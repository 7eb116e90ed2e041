from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from amparo.training.events import send_event_reminders
from amparo.training.services import send_certification_reminders


class Command(BaseCommand):
    help = (
        "Send due reminders once each: certifications ending within 30 days, and events "
        "starting within a day. Safe to run as often as you like."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        certifications = send_certification_reminders()
        events = send_event_reminders()
        self.stdout.write(
            f"Sent {certifications} certification reminder(s) and {events} event reminder(s)."
        )
