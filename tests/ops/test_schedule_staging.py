"""Abandoned field-upload staging is swept by the housekeeping schedule, not only at start-up."""

from __future__ import annotations

import os
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django_tasks_db.models import DBTaskResult

from amparo.field import staging
from amparo.ops.schedule import HOUSEKEEPING, available_housekeeping, enqueue_due


def test_sweeping_staging_is_scheduled_hourly() -> None:
    entries = {entry.command: entry.every for entry in HOUSEKEEPING}
    assert entries["sweepstaging"] == timedelta(hours=1)
    assert "sweepstaging" in {entry.command for entry in available_housekeeping()}


@pytest.mark.django_db(transaction=True)
def test_the_worker_sweeps_abandoned_staging_and_keeps_fresh(
    restored_signals: None, settings: Any, tmp_path: Path
) -> None:
    settings.DATA_DIR = tmp_path / "data"
    settings.EVIDENCE_DIR = tmp_path / "data" / "evidence"
    directory = tmp_path / "data" / "field-staging"
    directory.mkdir(parents=True)
    abandoned = directory / f"{uuid.uuid4()}{staging.SEALED_SUFFIX}"
    fresh = directory / f"{uuid.uuid4()}{staging.SEALED_SUFFIX}"
    for path in (abandoned, fresh):
        path.write_bytes(b"sealed chunks")
    long_ago = time.time() - (settings.AMPARO_FIELD_STAGING_ABANDONED_HOURS + 1) * 3600
    os.utime(abandoned, (long_ago, long_ago))

    assert "sweepstaging" in enqueue_due()
    call_command("worker", batch=True, verbosity=0)

    result = DBTaskResult.objects.get(args_kwargs__args=["sweepstaging"])
    assert result.status == "SUCCESSFUL", result.traceback
    assert f"removed {abandoned.name}" in str(result.return_value)
    assert not abandoned.exists()
    assert fresh.exists(), "staging of an upload that may still resume was swept"
