"""`amparo createcoordinator`: a coordinator account from the command line.

The new coordinator still sets up an authenticator app at first sign-in.
"""

from __future__ import annotations

import getpass
import os
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from amparo.accounts.services import AccountError, create_coordinator
from amparo.cli import TranslatedCommand


class Command(TranslatedCommand):
    help = gettext_lazy("Create a coordinator account; they set up TOTP at first sign-in.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", help=_("the new coordinator's username"))
        parser.add_argument(
            "--name", default="", help=_("the coordinator's name, as shown to others")
        )
        parser.add_argument(
            "--password-from-env",
            metavar="VARIABLE",
            help=_("read the password from this environment variable (for scripts)"),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        username = options["username"] or input(_("Username: ")).strip()
        if not username:
            raise CommandError(_("A username is needed: pass --username or type one."))
        variable = options["password_from_env"]
        if variable:
            password = os.environ.get(variable, "")
            if not password:
                raise CommandError(
                    _("The environment variable %(variable)s is empty or not set.")
                    % {"variable": variable}
                )
        else:
            password = getpass.getpass(_("Password: "))
            if password != getpass.getpass(_("Password again: ")):
                raise CommandError(_("The two passwords are not the same."))
        try:
            user = create_coordinator(username, password, options["name"])
        except ValidationError as problems:
            raise CommandError(
                _("Password refused: %(reasons)s") % {"reasons": " ".join(problems.messages)}
            ) from None
        except AccountError as refusal:
            raise CommandError(str(refusal.message)) from None
        self.stdout.write(
            _(
                "Coordinator %(username)s created. "
                "They set up an authenticator app at first sign-in."
            )
            % {"username": user.username}
        )
