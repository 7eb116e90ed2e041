"""`amparo loaddemo`: demo accounts for a local, DEBUG-only instance."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import CommandError
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from amparo.accounts.services import create_demo_accounts
from amparo.cli import TranslatedCommand


class Command(TranslatedCommand):
    help = gettext_lazy(
        "Create one enrolled account per role and a partner organization. DEBUG only."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError(
                _(
                    "loaddemo refused: demo accounts have published passwords, so they are made "
                    "only when DEBUG is on (DEBUG=1). Never on a real instance."
                )
            )
        # What the accounts hold (their names) is written in the site's language, whatever
        # language the operator reads.
        with translation.override(settings.LANGUAGE_CODE):
            accounts = create_demo_accounts()
        self.stdout.write(
            _("DEMO ONLY — these accounts are for trying Amparo, never for real use.")
        )
        label = _("demo only")
        for demo in accounts:
            # The key=value fields stay as they are: people and scripts copy them.
            self.stdout.write(
                f"  {label}  {demo.role:<12} username={demo.username}  "
                f"password={demo.password}  totp_secret={demo.totp_secret}"
            )
        self.stdout.write(_("Add the TOTP secret to an authenticator app to get sign-in codes."))
