"""`amparo serve`: gunicorn serving Amparo, on loopback unless told otherwise.

Threaded workers: nginx streams uploads to Amparo unbuffered, so one person sending slowly
holds a request for as long as the sending takes. A sync worker would be held whole (two
slow senders and the site stops answering) and killed when the request outlasts the worker
timeout; a threaded worker's timeout is about the process answering, and its other threads
go on serving. The public form's writer also gathers the submissions of a process's threads
into one commit.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from django.core.management.base import CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from amparo.cli import TranslatedCommand


class Command(TranslatedCommand):
    help = gettext_lazy(
        "Serve Amparo with gunicorn (AMPARO_BIND, AMPARO_WORKERS, AMPARO_THREADS to change "
        "where, how many processes and how many threads each)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--bind",
            default=os.environ.get("AMPARO_BIND", "127.0.0.1:8000"),
            help=_("address and port to listen on (default: %(default)s)"),
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=int(os.environ.get("AMPARO_WORKERS", "2")),
            help=_("number of worker processes (default: %(default)s)"),
        )
        parser.add_argument(
            "--threads",
            type=int,
            default=int(os.environ.get("AMPARO_THREADS", "4")),
            help=_("threads in each worker process (default: %(default)s)"),
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
            "--worker-class",
            "gthread",
            "--threads",
            str(options["threads"]),
            "--access-logfile",
            "-",
            "--access-logformat",
            '%(t)s "%(r)s" %(s)s %(b)s',  # no addresses, no user agents
        ]
        self.stdout.write(
            _("Amparo is being served at %(address)s") % {"address": f"http://{options['bind']}/"}
        )
        os.execv(sys.executable, argv)  # noqa: S606  (this process becomes gunicorn)
