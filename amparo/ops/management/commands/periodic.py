"""`amparo periodic`: enqueue the housekeeping that is due, once (for cron or a timer)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from amparo.cli import TranslatedCommand
from amparo.ops.schedule import available_housekeeping, enqueue_due


class Command(TranslatedCommand):
    help = gettext_lazy(
        "Enqueue each housekeeping command whose period has come round; `amparo worker` runs them."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        # Only enqueues: the worker runs the commands, in the site's language.
        enqueued = enqueue_due()
        for entry in available_housekeeping():
            facts = {"command": entry.command, "every": entry.every}
            if entry.command in enqueued:
                message = _("%(command)s (every %(every)s): enqueued")
            else:
                message = _("%(command)s (every %(every)s): already enqueued this period")
            self.stdout.write(message % facts)
