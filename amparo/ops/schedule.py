"""The periodic housekeeping schedule, enqueued once per period however many workers run."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.management import get_commands
from django.db import IntegrityError, transaction
from django.utils import timezone


@dataclass(frozen=True)
class Housekeeping:
    """A management command that is safe to repeat, and how often to run it."""

    command: str
    every: timedelta


HOUSEKEEPING = (
    Housekeeping("sendplanalerts", timedelta(minutes=1)),
    Housekeeping("expireoffers", timedelta(minutes=5)),
    Housekeeping("checkpoint", timedelta(minutes=10)),
    Housekeeping("senddeadlinereminders", timedelta(minutes=15)),
    Housekeeping("sendreminders", timedelta(hours=1)),
    # Staging of field uploads abandoned mid-way (kept to resume until then); start-up sweeps too.
    Housekeeping("sweepstaging", timedelta(hours=1)),
    Housekeeping("purgersvps", timedelta(days=1)),
)
# Claims older than this only record history; they are pruned as the scheduler runs.
_KEEP_CLAIMS = timedelta(days=30)


def available_housekeeping() -> list[Housekeeping]:
    """The scheduled commands this installation has (apps may be switched off)."""
    commands = get_commands()
    return [entry for entry in HOUSEKEEPING if entry.command in commands]


def slot_of(entry: Housekeeping, now: datetime) -> int:
    """The number of the period ``now`` falls in, counted from the epoch."""
    return int(now.timestamp()) // int(entry.every.total_seconds())


def enqueue_due(now: datetime | None = None) -> list[str]:
    """Enqueue each housekeeping command whose current period nobody has claimed yet.

    The claim row (unique per command and period) and the task commit together, so with
    several workers each period's run is enqueued exactly once. Returns what was enqueued.
    """
    from amparo.ops.models import ScheduledRun
    from amparo.ops.tasks import run_housekeeping

    now = now or timezone.now()
    enqueued = []
    for entry in available_housekeeping():
        try:
            with transaction.atomic():
                ScheduledRun.objects.create(command=entry.command, slot=slot_of(entry, now))
                run_housekeeping.enqueue(entry.command)
        except IntegrityError:
            continue
        enqueued.append(entry.command)
    ScheduledRun.objects.filter(enqueued_at__lt=now - _KEEP_CLAIMS).delete()
    return enqueued
