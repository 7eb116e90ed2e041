"""What several workers share so that periodic work is enqueued once per period."""

from __future__ import annotations

from django.db import models


class ScheduledRun(models.Model):
    """One period of one housekeeping command, claimed by the scheduler that enqueued it."""

    command = models.CharField(max_length=64)
    # The period's number: seconds since the epoch divided by the command's interval.
    slot = models.BigIntegerField()
    enqueued_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["command", "slot"], name="ops_one_run_per_slot")
        ]

    def __str__(self) -> str:
        return f"{self.command} #{self.slot}"
