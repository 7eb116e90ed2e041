"""The short run of the fault harness (bench/faults): kills, a plaintext scan and a full disk.

The kills take down the web server once and a background worker (`amparo worker`) twice.

The full run is `python -m bench.faults.run kill --rounds 100`; see bench/RESULTS_faults.md.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from bench.faults.instance import Instance
from bench.faults.run import db_restart_test, disk_full_test, kill_test, plaintext_test

pytestmark = pytest.mark.slow

STAGING = "/field-staging/"


@pytest.fixture(scope="module")
def instance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Instance]:
    """A prepared instance on SQLite; the PostgreSQL pass adds the database-restart run."""
    prepared = Instance(tmp_path_factory.mktemp("faults") / "instance")
    prepared.prepare()
    try:
        yield prepared
    finally:
        prepared.stop()


def test_killing_the_server_or_a_worker_loses_nothing_acknowledged(instance: Instance) -> None:
    rounds = 3
    report = kill_test(
        instance,
        rounds,
        seed=random.SystemRandom().getrandbits(32),
        workers=2,
        targets=["worker", "web", "worker"],
    )
    assert report.rounds == rounds
    assert (report.web_kills, report.worker_kills) == (1, 2)
    # Background tasks: every one enqueued ran to its end, none twice, none stuck RUNNING.
    assert report.tasks_enqueued == rounds * 8
    assert report.tasks_successful >= report.tasks_enqueued
    assert report.tasks_failed == 0
    assert report.tasks_unfinished == 0
    assert report.tasks_done_twice == 0
    assert report.tasks_started_twice <= report.tasks_claimed_again
    assert report.problems == []
    assert report.uploads_lost == 0
    assert report.intakes_lost == 0
    assert report.partial_visible == 0
    assert report.tmp_files_after_start_up == 0
    assert report.log_inconsistent == 0
    # One upload per start at least, so the checks above had something to find.
    assert report.uploads_found >= rounds + 1
    assert report.uploads_found + report.intakes_found > rounds + 1


@pytest.fixture(scope="module")
def plaintext(instance: Instance) -> dict[str, Any]:
    return plaintext_test(instance)


def test_a_kill_mid_upload_leaves_no_plaintext_in_the_store_database_or_temp(
    plaintext: dict[str, Any],
) -> None:
    assert plaintext["complete_upload_acknowledged"]
    outside_staging = [hit for hit in plaintext["hits_after_kill"] if STAGING not in hit]
    assert outside_staging == []
    restarted = [hit for hit in plaintext["hits_after_restart"] if STAGING not in hit]
    assert restarted == []


def test_a_kill_mid_upload_leaves_no_plaintext_anywhere(plaintext: dict[str, Any]) -> None:
    assert plaintext["hits_after_kill"] == []


@pytest.fixture(scope="module")
def disk_full(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    summary = disk_full_test(Instance(Path(tmp_path_factory.mktemp("disk-full"))))
    if "skipped" in summary:
        pytest.skip(summary["skipped"])
    assert "error" not in summary, summary.get("error")
    return summary


def test_a_full_disk_loses_nothing_and_uploads_resume(disk_full: dict[str, Any]) -> None:
    assert disk_full["refusals"], "the disk never filled up"
    assert disk_full["server_alive_when_full"]
    assert disk_full["uploads_lost"] == 0
    assert disk_full["partial_visible"] == []
    assert disk_full["upload_after_freeing_space"] == "acknowledged"


def test_a_full_disk_is_refused_with_a_clear_message(disk_full: dict[str, Any]) -> None:
    assert all("space" in refusal for refusal in disk_full["refusals"])


@pytest.fixture(scope="module")
def db_restart(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    if connection.vendor != "postgresql":
        pytest.skip("restarts a PostgreSQL cluster of its own; runs in the PostgreSQL pass")
    root = Path(tmp_path_factory.mktemp("db-restart"))
    return db_restart_test(root, restarts=2, seed=random.SystemRandom().getrandbits(32))


def test_restarting_postgresql_loses_no_intake_and_needs_no_hand(
    db_restart: dict[str, Any],
) -> None:
    assert db_restart["intakes_acknowledged"] > 0
    assert db_restart["intakes_lost"] == 0
    assert db_restart["uploads_lost"] == 0
    assert db_restart["partial_visible"] == []
    assert db_restart["server_alive"]
    assert all(seconds < 60 for seconds in db_restart["recovery_seconds"])


def test_uploads_are_acknowledged_on_postgresql(db_restart: dict[str, Any]) -> None:
    assert db_restart["uploads_acknowledged"] > 0
