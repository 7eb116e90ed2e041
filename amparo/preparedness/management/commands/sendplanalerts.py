"""`amparo sendplanalerts`: retry plan alerts that failed for now or were cut short.

Scheduled every minute by `amparo worker`; safe to run as often as you like.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from amparo.cli import TranslatedCommand
from amparo.preparedness.alerts import retry_alerts


class Command(TranslatedCommand):
    help = gettext_lazy(
        "Send plan-activation messages that are waiting, failed for now, or were interrupted."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        # Each message was composed in its contact's language when the plan was activated;
        # the retries send what was stored, and run in the site's language all the same.
        with translation.override(settings.LANGUAGE_CODE):
            counts = retry_alerts()
        self.stdout.write(
            _("plan alerts sent: %(sent)d, to retry: %(retrying)d, given up: %(failed)d")
            % {"sent": counts.sent, "retrying": counts.retrying, "failed": counts.failed}
        )
