"""Background tasks of the operations app: housekeeping commands run by `amparo worker`."""

from __future__ import annotations

import io

from django.core.management import call_command
from django_tasks import task

from amparo.ops.schedule import HOUSEKEEPING


@task()
def run_housekeeping(command: str) -> str:
    """Run one scheduled housekeeping command; each is idempotent, so a repeat is harmless."""
    if command not in {entry.command for entry in HOUSEKEEPING}:
        raise ValueError(f"{command!r} is not a scheduled housekeeping command")
    output = io.StringIO()
    call_command(command, stdout=output)
    # Task results are stored; the end of the output is enough to see what happened.
    return output.getvalue()[-2000:]
