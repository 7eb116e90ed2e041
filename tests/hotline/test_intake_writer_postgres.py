"""On PostgreSQL the public form's submissions go to the process's writer too: one commit
and one update of the rate-limit bucket for all that arrive together, instead of each
submission waiting for the previous one's lock on the bucket row and its own commit."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.db import OperationalError, connection, transaction

from amparo.hotline import intake_writer
from amparo.hotline.intake_throttle import BucketShape
from amparo.hotline.models import Case, Intake
from tests.hotline.factories import answers

pytestmark = pytest.mark.django_db(transaction=True)

SUBMISSIONS = 8


def test_public_intakes_on_postgresql_are_written_by_the_shared_writer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the PostgreSQL pass runs it; test_intake_group_commit covers SQLite")
    assert intake_writer._shared_writer_fits()
    writers: list[tuple[str, int]] = []
    write = intake_writer._GroupCommitter._write

    def recording(group: list[Any]) -> None:
        writers.append((threading.current_thread().name, len(group)))
        write(group)

    monkeypatch.setattr(intake_writer._GroupCommitter, "_write", staticmethod(recording))
    shape = BucketShape(capacity=100, refill_per_second=1)
    outcomes: dict[int, Any] = {}

    def submit(number: int) -> None:
        try:
            verdict, outcome = intake_writer.record_public_intake(
                answers(caller_name=f"caller {number}", a_number=f"A{100000000 + number}"),
                "postgres-test",
                shape,
            )
            outcomes[number] = (verdict.allowed, outcome.case.pk if outcome else None)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=(n,)) for n in range(SUBMISSIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert all(allowed for allowed, _pk in outcomes.values()), outcomes
    stored = {pk for _allowed, pk in outcomes.values()}
    assert len(stored) == SUBMISSIONS
    assert set(Case.objects.values_list("pk", flat=True)) == stored
    assert Intake.objects.count() == SUBMISSIONS
    assert {name for name, _size in writers} == {"intake-writer"}
    assert sum(size for _name, size in writers) == SUBMISSIONS


def test_a_writer_whose_connection_was_ended_reconnects_before_its_next_group() -> None:
    """After PostgreSQL ends the writer's session (a restart, a failover), the next family's
    submission is stored, not refused: the group that meets the dead session is rolled back
    and written again, one by one, on the new connection Django opens when the transaction
    ends."""
    if connection.vendor != "postgresql":
        pytest.skip("the PostgreSQL pass runs it")
    shape = BucketShape(capacity=100, refill_per_second=1)

    def submit(name: str) -> bool:
        verdict, outcome = intake_writer.record_public_intake(
            answers(caller_name=name, a_number=""), "postgres-reconnect", shape
        )
        return verdict.allowed and outcome is not None

    assert submit("before")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        (ended,) = cursor.fetchone()
    assert ended >= 1  # the writer's session, at least
    assert submit("after")
    assert set(Intake.objects.values_list("caller_name", flat=True)) == {"before", "after"}


def test_a_held_bucket_row_refuses_the_group_within_the_lock_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A transaction holding the bucket row (an open psql session) costs the families of a
    group a quick refusal, not a stalled form: the writer waits for the row's lock at most
    LOCK_TIMEOUT_MS, does not retry the group one by one (each would wait as long again),
    and writes the next group normally once the row is free."""
    if connection.vendor != "postgresql":
        pytest.skip("the PostgreSQL pass runs it")
    shape = BucketShape(capacity=100, refill_per_second=1)
    bucket = "postgres-held-row"

    def submit(name: str) -> bool:
        verdict, outcome = intake_writer.record_public_intake(
            answers(caller_name=name, a_number=""), bucket, shape
        )
        return verdict.allowed and outcome is not None

    assert submit("before")  # the bucket row exists now
    monkeypatch.setattr(intake_writer, "LOCK_TIMEOUT_MS", 300)
    holder = connection.get_new_connection(connection.get_connection_params())
    try:
        holder.execute("BEGIN")
        holder.execute(
            "SELECT tokens FROM hotline_intakebucket WHERE name = %s FOR UPDATE", [bucket]
        )
        attempts: list[int] = []
        admit = intake_writer._admit_together

        def counted(group: list[Any]) -> bool:
            attempts.append(len(group))
            return admit(group)

        monkeypatch.setattr(intake_writer, "_admit_together", counted)
        started = time.monotonic()
        with pytest.raises(OperationalError) as refused:
            submit("while held")
        waited = time.monotonic() - started
        assert attempts == [1]  # not written again one by one
        assert getattr(refused.value.__cause__, "sqlstate", None) == "55P03"  # lock_not_available
        assert waited < 5, f"waited {waited:.1f} s for a 0.3 s lock timeout"
    finally:
        holder.rollback()
        holder.close()
    assert submit("after")
    assert set(Intake.objects.values_list("caller_name", flat=True)) == {"before", "after"}


def test_the_timeouts_are_the_writers_own() -> None:
    """Set for the writer's own transaction only: a caller's transaction keeps its own."""
    if connection.vendor != "postgresql":
        pytest.skip("the PostgreSQL pass runs it")
    with connection.cursor() as cursor:
        cursor.execute("SHOW lock_timeout")
        before = cursor.fetchone()
        with transaction.atomic():
            cursor.execute("SET LOCAL lock_timeout = '1min'")
            with transaction.atomic():
                intake_writer._bound_waits()  # inside a caller's transaction: left alone
            cursor.execute("SHOW lock_timeout")
            assert cursor.fetchone() == ("1min",)
        with transaction.atomic():
            intake_writer._bound_waits()
            cursor.execute("SHOW lock_timeout")
            assert cursor.fetchone() == (f"{intake_writer.LOCK_TIMEOUT_MS // 1000}s",)
        cursor.execute("SHOW lock_timeout")
        assert cursor.fetchone() == before
