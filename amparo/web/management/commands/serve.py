"""`amparo serve`: gunicorn serving Amparo, on loopback unless told otherwise."""

from __future__ import annotations

import os
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Serve Amparo with gunicorn (AMPARO_BIND, AMPARO_WORKERS to change where and how many)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--bind", default=os.environ.get("AMPARO_BIND", "127.0.0.1:8000"))
        parser.add_argument(
            "--workers", type=int, default=int(os.environ.get("AMPARO_WORKERS", "2"))
        )

    def handle(self, *args: Any, **options: Any) -> None:
        argv = [
            sys.executable,
            "-m",
            "gunicorn",
            "amparo.wsgi:application",
            "--bind",
            options["bind"],
            "--workers",
            str(options["workers"]),
            "--access-logfile",
            "-",
            "--access-logformat",
            '%(t)s "%(r)s" %(s)s %(b)s',  # no addresses, no user agents
        ]
        self.stdout.write(f"Amparo is being served at http://{options['bind']}/")
        os.execv(sys.executable, argv)  # noqa: S606  (this process becomes gunicorn)
