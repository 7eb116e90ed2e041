"""`amparo senddeadlinereminders`: run from cron or a timer; safe to run as often as you like."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from amparo.hotline.reminders import send_deadline_reminders


class Command(BaseCommand):
    help = "Email the assigned attorney and coordinators before each hotline deadline."

    def handle(self, *args: Any, **options: Any) -> None:
        outcome = send_deadline_reminders()
        self.stdout.write(f"reminders sent: {outcome.sent}")
        for failure in outcome.failed:
            self.stderr.write(f"not sent, will retry on the next run: {failure}")
