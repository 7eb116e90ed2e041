"""`amparo createcoordinator`: a coordinator account from the command line.

The new coordinator still sets up an authenticator app at first sign-in.
"""

from __future__ import annotations

import getpass
import os
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from amparo.accounts.services import AccountError, create_coordinator


class Command(BaseCommand):
    help = "Create a coordinator account; they set up TOTP at first sign-in."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", help="the new coordinator's username")
        parser.add_argument("--name", default="", help="the coordinator's name, as shown to others")
        parser.add_argument(
            "--password-from-env",
            metavar="VARIABLE",
            help="read the password from this environment variable (for scripts)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        username = options["username"] or input("Username: ").strip()
        if not username:
            raise CommandError("A username is needed: pass --username or type one.")
        variable = options["password_from_env"]
        if variable:
            password = os.environ.get(variable, "")
            if not password:
                raise CommandError(f"The environment variable {variable} is empty or not set.")
        else:
            password = getpass.getpass("Password: ")
            if password != getpass.getpass("Password again: "):
                raise CommandError("The two passwords are not the same.")
        try:
            user = create_coordinator(username, password, options["name"])
        except ValidationError as problems:
            raise CommandError("Password refused: " + " ".join(problems.messages)) from None
        except AccountError as refusal:
            raise CommandError(str(refusal.message)) from None
        self.stdout.write(
            f"Coordinator {user.username} created. "
            "They set up an authenticator app at first sign-in."
        )
