"""`amparo restore BACKUP --identity FILE`: bring a backup up on a fresh instance."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from amparo.cli import TranslatedCommand
from amparo.evidence.age import AgeError, parse_identity_file
from amparo.ops.backup import BackupError, restore_backup


class Command(TranslatedCommand):
    help = gettext_lazy(
        "Restore a backup made by `amparo backup` into this instance's fresh data directory "
        "(SQLite) or empty database (PostgreSQL) and evidence directory."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("backup", metavar="BACKUP", help=_("the backup file"))
        parser.add_argument(
            "--identity",
            required=True,
            metavar="FILE",
            help=_("an age identity file that decrypts the backup"),
        )
        parser.add_argument(
            "--keys",
            metavar="DIR",
            help=_("where log.skey and age-identity.txt are, if the backup was made without them"),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            identities = parse_identity_file(Path(options["identity"]).read_text("utf-8"))
        except (OSError, AgeError) as error:
            raise CommandError(
                _("%(file)s: not a usable identity file: %(error)s")
                % {"file": options["identity"], "error": error}
            ) from None
        keys = Path(options["keys"]) if options["keys"] else None
        try:
            summary = restore_backup(Path(options["backup"]), identities, keys_from=keys)
        except (BackupError, OSError) as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            _(
                "Restored the %(database)s database and %(count)d evidence files from the "
                "backup made %(created)s. Run `amparo migrate` if this version of Amparo is "
                "newer than the one that made it."
            )
            % {
                "database": summary.database,
                "count": summary.evidence_files,
                "created": summary.created,
            }
        )
