"""`amparo firstrun`: on a database with no coordinator, print a link that creates the first."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from amparo.accounts.services import issue_bootstrap_invitation
from amparo.cli import TranslatedCommand


class Command(TranslatedCommand):
    help = gettext_lazy(
        "On a database with no coordinator, print a one-time link that creates the first one."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        issued = issue_bootstrap_invitation()
        if issued is None:
            return
        self.stdout.write(
            _("Open this link to create the first coordinator account: %(url)s")
            % {"url": issued.url}
        )
