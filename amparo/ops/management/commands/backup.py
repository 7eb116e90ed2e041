"""`amparo backup OUT --recipient age1...`: an age-encrypted backup of this instance."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from amparo.evidence.age import AgeError, check_recipient
from amparo.ops.backup import BackupError, write_backup


class Command(BaseCommand):
    help = (
        "Write an age-encrypted backup of the database, the evidence store and the secret key "
        "to OUT. The store's private keys are left out unless --include-keys is given."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("out", metavar="OUT", help="the backup file to create")
        parser.add_argument(
            "--recipient",
            action="append",
            required=True,
            metavar="AGE1...",
            help="an age recipient the backup is encrypted to; repeat for each",
        )
        parser.add_argument(
            "--include-keys",
            action="store_true",
            help="also back up the log signing key and the age identity of the evidence store",
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
        keys = "with" if summary.included_keys else "without"
        self.stdout.write(
            f"Backed up the {summary.database} database and {summary.evidence_files} evidence "
            f"files ({keys} the store's private keys) to {out}"
        )
