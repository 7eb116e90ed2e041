"""A task left RUNNING by a worker that was killed is queued again; a live worker's is not."""

from __future__ import annotations

import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from amparo.ops.tasks import run_housekeeping
from amparo.ops.worker import (
    FOREIGN_LEASE,
    Registration,
    is_alive,
    reclaim_abandoned,
    workers_directory,
)

# Holds the worker's lock the way `amparo worker` does, then waits to be killed.
HOLDER = """
import fcntl, sys, time
lock = open(sys.argv[1], "ab")
fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
print("locked", flush=True)
time.sleep(600)
"""


@pytest.fixture
def data_dir(settings: Any, tmp_path: Path) -> Path:
    settings.DATA_DIR = tmp_path / "data"
    settings.EVIDENCE_DIR = tmp_path / "data" / "evidence"
    return Path(settings.DATA_DIR)


def killed_worker(worker_id: str) -> str:
    """Register ``worker_id`` in another process, then SIGKILL that process."""
    directory = workers_directory()
    directory.mkdir(parents=True, exist_ok=True)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(directory / f"{worker_id}.lock")],
        stdout=subprocess.PIPE,
    )
    assert holder.stdout is not None
    with holder.stdout:
        assert holder.stdout.readline() == b"locked\n"
    assert is_alive(worker_id) is True
    holder.send_signal(signal.SIGKILL)
    holder.wait(10)
    return worker_id


def running_under(worker_id: str, started: timedelta = timedelta(0)) -> DBTaskResult[Any, Any]:
    result = DBTaskResult.objects.get(id=run_housekeeping.enqueue("expireoffers").id)
    result.claim(worker_id)
    if started:
        DBTaskResult.objects.filter(id=result.id).update(started_at=timezone.now() - started)
    return result


@pytest.mark.django_db(transaction=True)
def test_a_task_of_a_killed_worker_runs_again(data_dir: Path, restored_signals: None) -> None:
    dead = killed_worker("killed-worker-1")
    result = running_under(dead)
    assert is_alive(dead) is False
    assert is_alive(dead) is False, "a second look must still find the worker dead"

    call_command("worker", batch=True, verbosity=0)

    result.refresh_from_db()
    assert result.status == "SUCCESSFUL"
    assert result.worker_ids[0] == dead
    assert len(result.worker_ids) == 2, result.worker_ids


@pytest.mark.django_db
def test_reclaiming_hands_back_only_tasks_of_dead_workers(data_dir: Path) -> None:
    live = Registration("live-worker")
    try:
        dead = killed_worker("killed-worker-2")
        of_live = running_under("live-worker")
        of_dead = running_under(dead)
        # A worker registered elsewhere (another machine): recent, then past the lease.
        recent_foreign = running_under("elsewhere-1", started=timedelta(minutes=5))
        old_foreign = running_under("elsewhere-2", started=FOREIGN_LEASE + timedelta(minutes=1))

        reclaimed = reclaim_abandoned()

        assert sorted(reclaimed) == sorted([str(of_dead.id), str(old_foreign.id)])
        statuses = dict(DBTaskResult.objects.values_list("id", "status"))
        assert statuses[of_live.id] == "RUNNING"
        assert statuses[recent_foreign.id] == "RUNNING"
        assert statuses[of_dead.id] == "READY"
        assert statuses[old_foreign.id] == "READY"
        assert reclaim_abandoned() == [], "a second pass handed something back again"
        assert (workers_directory() / "live-worker.lock").exists()
    finally:
        live.release()
    assert not (workers_directory() / "live-worker.lock").exists()
    assert list(workers_directory().iterdir()) == []


@pytest.mark.django_db
def test_a_worker_id_in_use_is_refused(data_dir: Path) -> None:
    first = Registration("same-id")
    try:
        with pytest.raises(RuntimeError, match="in use by a running worker"):
            Registration("same-id")
    finally:
        first.release()
