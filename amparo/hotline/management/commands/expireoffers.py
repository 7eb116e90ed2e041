"""`amparo expireoffers`: pass unanswered offers to the next attorney; safe to repeat."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from amparo.hotline.referrals import expire_offers


class Command(BaseCommand):
    help = "Pass every case offer that was not answered in time to the next-ranked attorney."

    def handle(self, *args: Any, **options: Any) -> None:
        for expired, following in expire_offers():
            where = f"offered to user {following.attorney_id}" if following else "nobody left"
            self.stdout.write(f"offer {expired.pk} on case {expired.case_id} expired; {where}")
