from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from amparo.cli import TranslatedCommand
from amparo.training.events import send_event_reminders
from amparo.training.services import send_certification_reminders


class Command(TranslatedCommand):
    help = gettext_lazy(
        "Send due reminders once each: certifications ending within 30 days, and events "
        "starting within a day. Safe to run as often as you like."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        # Emails are written in each person's language; a text reminder is written in the
        # active one, so the sending runs in the site's language, never in the operator's.
        with translation.override(settings.LANGUAGE_CODE):
            certifications = send_certification_reminders()
            events = send_event_reminders()
        self.stdout.write(
            _("Sent %(certifications)d certification reminder(s) and %(events)d event reminder(s).")
            % {"certifications": certifications, "events": events}
        )
