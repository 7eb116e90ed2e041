"""The `amparo` command: Django's management commands under one name.

It speaks the operator's language when the site has it: the first of the environment
variables LANGUAGE (a colon-separated list; its first language the site has wins), LC_ALL,
LC_MESSAGES and LANG that is set, as gettext reads them. "C", "POSIX", an empty value or a
language the site does not have gives the site's default language (LANGUAGE_CODE). Commands
that send messages to other people send them in those people's language, never in this one.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from django.core.management.base import BaseCommand, CommandParser

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

# gettext's order: the first of these that is set and not empty decides.
LANGUAGE_VARIABLES = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")


def language_of_locale(name: str, supported: Iterable[str]) -> str | None:
    """The site language a locale name such as "es_MX.UTF-8" or "ar" means, if it has one."""
    name = name.strip().split(".", 1)[0].split("@", 1)[0]
    if not name or name in {"C", "POSIX"}:
        return None
    code = name.replace("_", "-").lower()
    codes = {language.lower(): language for language in supported}
    for candidate in (code, code.split("-", 1)[0]):
        if candidate in codes:
            return codes[candidate]
    return None


def operator_language(environ: Mapping[str, str], supported: Iterable[str]) -> str | None:
    """The language the environment asks for, among ``supported``; None for the default."""
    supported = list(supported)
    for variable in LANGUAGE_VARIABLES:
        value = environ.get(variable, "")
        if not value:
            continue
        names = value.split(":") if variable == "LANGUAGE" else [value]
        for name in names:
            language = language_of_locale(name, supported)
            if language is not None:
                return language
        return None
    return None


def activate_operator_language(environ: Mapping[str, str]) -> None:
    """Make the environment's language the active one for this command (Django is set up)."""
    from django.conf import settings
    from django.utils import translation

    codes = [code for code, _name in settings.LANGUAGES]
    translation.activate(operator_language(environ, codes) or settings.LANGUAGE_CODE)


class TranslatedCommand(BaseCommand):
    """A command whose ``help`` may be a gettext_lazy text, shown in the active language."""

    help: StrOrPromise  # type: ignore[assignment]  # Django reads it only through create_parser

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        # argparse formats the description with the re module, which needs a real str.
        parser.description = str(self.help) or None
        return parser


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "amparo.settings")
    import django
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    args = list(sys.argv if argv is None else ["amparo", *argv])
    args[0] = "amparo"
    try:
        django.setup()
    except ImproperlyConfigured:
        pass  # execute_from_command_line reports a broken configuration its own way
    else:
        activate_operator_language(os.environ)
    execute_from_command_line(args)


if __name__ == "__main__":
    main()
