"""`amparo senddeadlinereminders`: run from cron or a timer; safe to run as often as you like."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from amparo.cli import TranslatedCommand
from amparo.hotline.reminders import send_deadline_reminders


class Command(TranslatedCommand):
    help = gettext_lazy(
        "Email the assigned attorney and coordinators before each hotline deadline."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        # Each reminder is written in its recipient's language (else the site's), never in
        # the operator's: send_deadline_reminders chooses it for each person.
        outcome = send_deadline_reminders()
        self.stdout.write(_("reminders sent: %(count)d") % {"count": outcome.sent})
        for failure in outcome.failed:
            self.stderr.write(
                _("not sent, will retry on the next run: %(failure)s") % {"failure": failure}
            )
        for deadline in outcome.unreachable:
            self.stderr.write(
                _(
                    "nobody to remind of the deadline on case %(case)s (due %(due)s): no "
                    "coordinator or assigned attorney has an email address"
                )
                % {"case": deadline.case_id, "due": deadline.due_on.isoformat()}
            )
