"""Workers that die in the middle of a task, and handing their tasks back to the queue.

django-tasks' database worker marks a task RUNNING when it claims it and SUCCESSFUL or FAILED
when it ends. A worker killed in between (SIGKILL, OOM, power cut) leaves the task RUNNING
for ever: no other worker looks at it again. So each `amparo worker` holds an exclusive
lock (flock) on a file named after its id for as long as its process lives; the kernel
drops the lock when the process dies, however it dies. A task RUNNING under a worker whose
file is no longer locked is put back to READY and runs again (tasks are idempotent).

A worker whose lock file is not here (another machine with its own data directory) cannot
be asked; its RUNNING tasks are handed back only after FOREIGN_LEASE.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import socket
from datetime import timedelta
from pathlib import Path
from typing import IO

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import get_random_string

logger = logging.getLogger("amparo.ops")

# No housekeeping task runs for hours; one RUNNING this long on an unreachable worker is dead.
FOREIGN_LEASE = timedelta(hours=6)
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def workers_directory() -> Path:
    return Path(settings.DATA_DIR) / "workers"


def new_worker_id() -> str:
    """A unique id (django-tasks allows 64 characters): host, process and a random part."""
    host = _UNSAFE.sub("_", socket.gethostname())[:24]
    return f"{host}-{os.getpid()}-{get_random_string(12)}"


def _lock_path(worker_id: str) -> Path:
    return workers_directory() / f"{_UNSAFE.sub('_', worker_id)}.lock"


class Registration:
    """The lock that says a worker is alive; held until release() or the process's death."""

    def __init__(self, worker_id: str) -> None:
        self.worker_id = worker_id
        self.path = _lock_path(worker_id)
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._file: IO[bytes] | None = None
        while self._file is None:
            candidate = self.path.open("ab")
            try:
                fcntl.flock(candidate, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                candidate.close()
                in_use = f"worker id {worker_id!r} is in use by a running worker"
                raise RuntimeError(in_use) from None
            # A sweep may have found the file unlocked before the lock and removed it.
            try:
                same = os.stat(self.path).st_ino == os.fstat(candidate.fileno()).st_ino
            except FileNotFoundError:
                same = False
            if same:
                self._file = candidate
            else:
                candidate.close()

    def release(self) -> None:
        if self._file is None:
            return
        self.path.unlink(missing_ok=True)
        self._file.close()
        self._file = None


def is_alive(worker_id: str) -> bool | None:
    """True or False for a worker registered in this data directory; None if unknown here."""
    path = _lock_path(worker_id)
    try:
        probe = path.open("rb")
    except FileNotFoundError:
        return None
    with probe:
        try:
            fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        # Nobody holds it: the worker is gone. The file stays while the worker has tasks
        # RUNNING, so that every later look still finds it dead.
        return False


def reclaim_abandoned() -> list[str]:
    """Put back to READY the RUNNING tasks of workers that died; return the task ids.

    Each task is handed back only if it is still RUNNING under the same dead worker, so a
    task that finished or was handed back meanwhile is left as it is.
    """
    from django_tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    reclaimed = []
    lease_cutoff = timezone.now() - FOREIGN_LEASE
    running = DBTaskResult.objects.running().values_list("id", "worker_ids", "started_at")
    for task_id, worker_ids, started_at in list(running):
        last = worker_ids[-1] if worker_ids else None
        alive = is_alive(last) if last else None
        if alive is None:
            alive = started_at is not None and started_at > lease_cutoff
        if alive:
            continue
        with transaction.atomic():
            result = DBTaskResult.objects.select_for_update().filter(id=task_id).first()
            if result is None or result.status != TaskResultStatus.RUNNING:
                continue
            if result.worker_ids != worker_ids:
                continue
            result.status = TaskResultStatus.READY
            result.started_at = None
            result.save(update_fields=["status", "started_at"])
        logger.warning("task %s was left running by dead worker %s; queued again", task_id, last)
        reclaimed.append(str(task_id))
    _remove_stale_registrations()
    return reclaimed


def _remove_stale_registrations() -> None:
    """Remove the files of dead workers that have no task RUNNING (a dead one claims none)."""
    from django_tasks_db.models import DBTaskResult

    directory = workers_directory()
    if not directory.is_dir():
        return
    dead = [path for path in directory.glob("*.lock") if is_alive(path.stem) is False]
    if not dead:
        return
    # Asked after the deaths were seen, so no task of theirs can be claimed after this.
    holding = {
        _lock_path(worker_ids[-1]).name
        for worker_ids in DBTaskResult.objects.running().values_list("worker_ids", flat=True)
        if worker_ids
    }
    for path in dead:
        if path.name not in holding:
            path.unlink(missing_ok=True)
