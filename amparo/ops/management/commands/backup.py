"""`amparo backup OUT --recipient age1...`: an age-encrypted backup of this instance."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from amparo.cli import TranslatedCommand
from amparo.evidence.age import AgeError, check_recipient
from amparo.ops.backup import BackupError, write_backup


class Command(TranslatedCommand):
    help = gettext_lazy(
        "Write an age-encrypted backup of the database, the evidence store and the secret key "
        "to OUT. The store's private keys are left out unless --include-keys is given."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("out", metavar="OUT", help=_("the backup file to create"))
        parser.add_argument(
            "--recipient",
            action="append",
            required=True,
            metavar="AGE1...",
            help=_("an age recipient the backup is encrypted to; repeat for each"),
        )
        parser.add_argument(
            "--include-keys",
            action="store_true",
            help=_("also back up the log signing key and the age identity of the evidence store"),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        recipients = [recipient.strip() for recipient in options["recipient"]]
        try:
            for recipient in recipients:
                check_recipient(recipient)
        except AgeError as error:
            raise CommandError(f"--recipient: {error}") from None
        out = Path(options["out"])
        try:
            summary = write_backup(out, recipients, include_keys=options["include_keys"])
        except (BackupError, OSError) as error:
            raise CommandError(str(error)) from None
        facts = {"database": summary.database, "count": summary.evidence_files, "path": out}
        if summary.included_keys:
            message = _(
                "Backed up the %(database)s database and %(count)d evidence files (with the "
                "store's private keys) to %(path)s"
            )
        else:
            message = _(
                "Backed up the %(database)s database and %(count)d evidence files (without the "
                "store's private keys) to %(path)s"
            )
        self.stdout.write(message % facts)
