from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from amparo.cli import TranslatedCommand
from amparo.training.events import purge_rsvps, rsvp_retention_days


class Command(TranslatedCommand):
    help = gettext_lazy(
        "Delete the personal data of RSVPs to events that ended over the retention period ago."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        purged = purge_rsvps()
        self.stdout.write(
            _(
                "Deleted the personal data of %(count)d RSVP(s) "
                "to events that ended over %(days)d days ago."
            )
            % {"count": purged, "days": rsvp_retention_days()}
        )
