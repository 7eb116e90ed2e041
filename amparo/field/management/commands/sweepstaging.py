"""`amparo sweepstaging`: remove field-upload staging nobody will finish; safe to repeat."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from amparo.cli import TranslatedCommand
from amparo.field.sync import abandoned_after, sweep_staging


class Command(TranslatedCommand):
    help = gettext_lazy(
        "Remove staging of field uploads untouched for AMPARO_FIELD_STAGING_ABANDONED_HOURS "
        "(48 by default), already ingested, or no longer claimed; evidence is never touched."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        removed = sweep_staging()
        for name in removed:
            self.stdout.write(_("removed %(name)s") % {"name": name})
        hours = abandoned_after().total_seconds() / 3600
        self.stdout.write(
            _("%(count)d staging file(s) removed (abandoned after %(hours)s h)")
            % {"count": len(removed), "hours": f"{hours:g}"}
        )
