"""`amparo evidence-init`: create the evidence store and print the log's verifier key."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from amparo.cli import TranslatedCommand
from amparo.custody.evidence import create_store, evidence_directory, log_origin
from amparo.evidence.store import StoreError


class Command(TranslatedCommand):
    help = gettext_lazy(
        "Create the evidence store at EVIDENCE_DIR and print the log's verifier key."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--origin", help=_("the log's origin line (default: <site host>/log)"))

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            _store, vkey = create_store(options.get("origin") or log_origin())
        except StoreError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            _("Created the evidence store at %(path)s") % {"path": evidence_directory()}
        )
        self.stdout.write(_("Publish this log key so that anyone can verify your bundles:"))
        self.stdout.write(vkey)
