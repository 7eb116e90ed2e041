"""`amparo expireoffers`: pass unanswered offers to the next attorney; safe to repeat."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from amparo.cli import TranslatedCommand
from amparo.hotline.referrals import expire_offers


class Command(TranslatedCommand):
    help = gettext_lazy(
        "Pass every case offer that was not answered in time to the next-ranked attorney."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        # The work reaches other people: it never runs in the operator's language.
        with translation.override(settings.LANGUAGE_CODE):
            passed = expire_offers()
        for expired, following in passed:
            facts = {"offer": expired.pk, "case": expired.case_id}
            if following:
                message = _(
                    "offer %(offer)s on case %(case)s expired; offered to user %(user)s"
                ) % {**facts, "user": following.attorney_id}
            else:
                message = _("offer %(offer)s on case %(case)s expired; nobody left") % facts
            self.stdout.write(message)
