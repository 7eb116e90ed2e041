"""`amparo worker`: each task runs once across workers; housekeeping is enqueued once per period."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from django_tasks import task
from django_tasks_db.models import DBTaskResult

from amparo.ops.models import ScheduledRun
from amparo.ops.schedule import available_housekeeping, enqueue_due
from amparo.ops.tasks import run_housekeeping

REPOSITORY = Path(__file__).resolve().parents[2]
RUNS_TABLE = "ops_test_task_run"


@task()
def record_run(key: str) -> None:
    """A task that leaves one row per run; the primary key refuses a second run of a key."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {RUNS_TABLE} (task_key, worker_pid) VALUES (%s, %s)",  # noqa: S608
            [key, os.getpid()],
        )
    time.sleep(0.05)  # long enough that both workers are busy at once


@pytest.mark.django_db
def test_each_housekeeping_period_is_enqueued_once() -> None:
    now = timezone.now()
    expected = [entry.command for entry in available_housekeeping()]
    assert "expireoffers" in expected
    assert enqueue_due(now) == expected
    assert enqueue_due(now) == [], "a second scheduler in the same period enqueued again"
    assert DBTaskResult.objects.count() == len(expected)
    tomorrow = enqueue_due(now + timedelta(days=1, minutes=1))
    assert tomorrow == expected
    assert ScheduledRun.objects.count() == 2 * len(expected)


@pytest.mark.django_db
def test_old_claims_are_pruned() -> None:
    now = timezone.now()
    enqueue_due(now)
    ScheduledRun.objects.update(enqueued_at=now - timedelta(days=40))
    enqueue_due(now + timedelta(days=1, minutes=1))
    assert ScheduledRun.objects.filter(enqueued_at__lt=now).count() == 0


@pytest.mark.django_db
def test_only_scheduled_commands_run_as_housekeeping() -> None:
    with pytest.raises(ValueError, match="'flush' is not a scheduled housekeeping command"):
        run_housekeeping.call("flush")


@pytest.mark.django_db(transaction=True)
def test_the_worker_runs_what_the_scheduler_enqueued(
    restored_signals: None, settings: Any, tmp_path: Path
) -> None:
    # The checkpoint command opens (and creates) the evidence store; keep it out of the way.
    settings.EVIDENCE_DIR = tmp_path / "evidence"
    output = io.StringIO()
    call_command("periodic", stdout=output)
    assert "expireoffers (every 0:05:00): enqueued" in output.getvalue()
    enqueued = DBTaskResult.objects.count()
    assert enqueued == len(available_housekeeping())
    call_command("worker", batch=True, verbosity=0)
    statuses = list(DBTaskResult.objects.values_list("status", flat=True))
    assert statuses == ["SUCCESSFUL"] * enqueued, [
        (result.args_kwargs, result.exception_class_path, result.traceback)
        for result in DBTaskResult.objects.exclude(status="SUCCESSFUL")
    ]


def database_url_of_test_run() -> str:
    """DATABASE_URL with its database name replaced by the one the test run created."""
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path="/" + str(connection.settings_dict["NAME"])))


@pytest.mark.django_db(transaction=True)
def test_two_workers_on_postgresql_run_each_task_exactly_once() -> None:
    if connection.vendor != "postgresql":
        pytest.skip(
            "needs PostgreSQL's SELECT ... FOR UPDATE SKIP LOCKED; runs in the PostgreSQL pass "
            "of make test (scripts/with-postgres.sh)"
        )
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE {RUNS_TABLE} (task_key varchar(64) PRIMARY KEY, worker_pid integer)"
        )
    try:
        count = 60
        keys = [f"task-{number}" for number in range(count)]
        for key in keys:
            record_run.enqueue(key)
        environment = {
            **os.environ,
            "DATABASE_URL": database_url_of_test_run(),
            "PYTHONPATH": str(REPOSITORY),
        }
        workers = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "amparo.cli",
                    "worker",
                    "--batch",
                    "--interval=0.01",
                    f"--worker-id=test-worker-{number}",
                ],
                cwd=REPOSITORY,
                env=environment,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            for number in range(2)
        ]
        outputs = [worker.communicate(timeout=120)[0].decode() for worker in workers]
        assert [worker.returncode for worker in workers] == [0, 0], outputs
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT task_key, worker_pid FROM {RUNS_TABLE}")  # noqa: S608
            runs = cursor.fetchall()
        assert sorted(key for key, _pid in runs) == sorted(keys)
        assert DBTaskResult.objects.filter(status="SUCCESSFUL").count() == count, outputs
        assert {pid for _key, pid in runs} == {worker.pid for worker in workers}, (
            "one worker ran everything, so the test did not make them compete"
        )
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {RUNS_TABLE}")
