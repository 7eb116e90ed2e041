"""The public form's writer: submissions that arrive together are stored with one commit.

A public intake is acknowledged only once it is committed. Every commit is an fsync of the
write-ahead log, and every submission updates the same rate-limit bucket row, so each server
process hands its submissions to one writer thread, which stores all those waiting in one
transaction (`_GroupCommitter`): one commit and one bucket update for the group. On a SQLite
file, where one writer may hold the database at a time, the writers of the processes take
turns on a file lock beside the database (`intake_writer_turn`); on PostgreSQL they wait for
each other on the bucket row's lock. A group's rows go in with one statement per kind of row
(`services.store_intakes`); if that fails, the group is written again one submission at a
time, each in a savepoint, so that only the failing one is refused.
"""

from __future__ import annotations

import fcntl
import os
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import InterfaceError, OperationalError, connection, transaction

from amparo.audit.services import event
from amparo.hotline import services
from amparo.hotline.intake_throttle import BucketShape, Verdict, take_tokens
from amparo.hotline.models import IntakeChannel
from amparo.rows import insert

# One intake writer at a time per process, then per database file (see intake_writer_turn).
_writer_lock = threading.Lock()
_lock_files: dict[tuple[int, str], int] = {}


def _lock_file(path: str) -> int:
    # Keyed by process id: a descriptor inherited across fork shares its lock with the parent.
    key = (os.getpid(), path)
    if key not in _lock_files:
        _lock_files[key] = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    return _lock_files[key]


def _sqlite_file_outside_transaction() -> bool:
    name = str(connection.settings_dict["NAME"])
    return (
        connection.vendor == "sqlite"
        and not connection.in_atomic_block
        and name != ":memory:"
        and not name.startswith("file:")
    )


def _shared_writer_fits() -> bool:
    """Whether this submission goes to the process's writer: outside a caller's transaction,
    on a SQLite file or on PostgreSQL (an in-memory SQLite database is one connection's)."""
    if connection.in_atomic_block:
        return False
    return connection.vendor == "postgresql" or _sqlite_file_outside_transaction()


@contextmanager
def intake_writer_turn() -> Iterator[None]:
    """Queue intake writers on a kernel file lock beside the SQLite database.

    SQLite admits one writer and makes the others retry on a timer whose sleeps grow to
    100 ms, so under a burst much of the time goes in sleeping while the database is free.
    The file lock queues the writers of every server process and wakes the next as soon as
    one commits. Nothing changes on PostgreSQL, for an in-memory database, or when the
    caller already holds a transaction (the database lock would then be taken first, and
    two writers could wait on each other).
    """
    if not _sqlite_file_outside_transaction():
        yield
        return
    with _writer_lock:
        descriptor = _lock_file(str(connection.settings_dict["NAME"]) + ".intake-lock")
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(descriptor, fcntl.LOCK_UN)


# On PostgreSQL a group waits at most this long for the bucket row's lock, and any statement
# of it runs at most this long. A transaction that holds the row (an open psql session, a
# stuck process) then costs the families of one group a 503 with Retry-After, their answers
# kept on the page, instead of stalling this process's public form until it ends. Both are
# well inside the minute a request waits for its group (_GroupCommitter.answer_within_seconds).
LOCK_TIMEOUT_MS = 5_000
STATEMENT_TIMEOUT_MS = 15_000
# PostgreSQL's codes for those two: lock_not_available, query_canceled.
_TIMED_OUT = frozenset({"55P03", "57014"})


def _bound_waits() -> None:
    """Set the timeouts above for the transaction just begun (SET LOCAL: they end with it).
    Not inside a caller's transaction, whose statements after ours would be bound too."""
    if connection.vendor != "postgresql":
        return  # SQLite waits for its lock at most the connection's timeout (settings)
    if connection.savepoint_ids:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('lock_timeout', %s, true), "
            "set_config('statement_timeout', %s, true)",
            [f"{LOCK_TIMEOUT_MS}ms", f"{STATEMENT_TIMEOUT_MS}ms"],
        )


def _timed_out(error: BaseException) -> bool:
    return getattr(error.__cause__, "sqlstate", None) in _TIMED_OUT


@dataclass
class _Submission:
    """One public form submission waiting for the group that will commit it."""

    intake: services.PreparedIntake | None  # None when the form was not valid
    bucket: str
    shape: BucketShape
    done: threading.Event = field(default_factory=threading.Event)
    verdict: Verdict | None = None
    outcome: services.IntakeOutcome | None = None
    error: BaseException | None = None


def _admit_together(group: list[_Submission]) -> bool:
    """The whole group in the caller's transaction, each kind of row with one statement:
    tokens, then the cases, intakes, statuses and audit events of the submissions that got
    one. False, having written nothing, if the group is not of one bucket. (A group of one
    is how the one-by-one retry writes each submission.)"""
    first = group[0]
    if any((s.bucket, s.shape) != (first.bucket, first.shape) for s in group):
        return False
    verdicts = take_tokens(first.bucket, first.shape, len(group))
    storing = [
        s for s, verdict in zip(group, verdicts, strict=True) if verdict.allowed and s.intake
    ]
    outcomes = services.store_intakes([s.intake for s in storing if s.intake is not None])
    insert(*(event(None, "hotline.intake.public", target=f"case:{o.case.pk}") for o in outcomes))
    stored = dict(zip((id(s) for s in storing), outcomes, strict=True))
    for submission, verdict in zip(group, verdicts, strict=True):
        submission.verdict, submission.outcome = verdict, stored.get(id(submission))
    return True


class _GroupCommitter:
    """Commits this process's public intakes in groups: one transaction, so one fsync of the
    write-ahead log, for all the submissions that arrived while the previous group was being
    written or while this writer waited for its turn on the database (the group is taken
    from the queue only once the turn is held). Nobody waits for a group to fill: a lone
    submission is a group of one.

    The group is written with one statement per kind of row; if that fails before the
    commit, it is rolled back and written again one submission at a time, each in a
    savepoint, so that one that fails is rolled back alone (its token with it). A submission
    is answered only after its group's COMMIT returned; if the commit fails, every
    submission in the group gets the error and none is acknowledged.
    """

    largest_group = 64
    answer_within_seconds = 60.0

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[_Submission] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._started_in: int | None = None
        self._start_lock = threading.Lock()

    def submit(self, submission: _Submission) -> None:
        with self._start_lock:
            if self._started_in != os.getpid():  # the parent's writer did not fork with us
                self._queue = queue.SimpleQueue()
                self._writer = None
                self._started_in = os.getpid()
            if self._writer is None or not self._writer.is_alive():
                self._writer = threading.Thread(
                    target=self._run, args=(self._queue,), name="intake-writer", daemon=True
                )
                self._writer.start()
            self._queue.put(submission)
        if not submission.done.wait(self.answer_within_seconds):
            raise TimeoutError("the intake was not committed in time")
        if isinstance(submission.error, Exception):
            raise submission.error
        if submission.error is not None:
            raise RuntimeError("the intake writer stopped") from submission.error

    def _run(self, waiting: queue.SimpleQueue[_Submission]) -> None:
        while True:
            group = [waiting.get()]
            try:
                with intake_writer_turn():
                    # What arrived while this writer waited for its turn joins the group.
                    while len(group) < self.largest_group:
                        try:
                            group.append(waiting.get_nowait())
                        except queue.Empty:
                            break
                    self._write(group)
            except BaseException as error:  # handed to every request of the group
                for submission in group:
                    submission.verdict, submission.outcome = None, None
                    submission.error = error
                connection.close()  # the next group starts on a fresh connection
                if not isinstance(error, Exception):
                    with self._start_lock:  # this writer ends; the next submission starts one
                        self._writer = None
                    raise
            finally:
                for submission in group:
                    submission.done.set()

    @staticmethod
    def _write(group: list[_Submission]) -> None:
        """Store the group; the caller holds the writer's turn (or needs none)."""
        together = False
        try:
            with transaction.atomic():
                _bound_waits()
                together = _admit_together(group)
        except Exception as error:
            if together:  # the COMMIT itself failed: every submission gets the error
                raise
            if _timed_out(error):
                raise  # one by one, each would wait as long again: the group is refused
            for submission in group:
                submission.verdict, submission.outcome = None, None
                if submission.intake is not None:  # keys handed out by the failed INSERT
                    services.forget_keys(submission.intake)
            if isinstance(error, (OperationalError, InterfaceError)) and not connection.is_usable():
                raise  # no new connection could be had (the server is down): nothing to retry on
        else:
            if together:
                return
        # One at a time, each in a savepoint: only the submission that fails is refused.
        with transaction.atomic():
            _bound_waits()
            for submission in group:
                try:
                    with transaction.atomic():
                        _admit_together([submission])
                except Exception as error:
                    submission.error = error
            if transaction.get_rollback():
                # A savepoint could not be rolled back (the connection went away mid-group):
                # the whole transaction will be, so no submission of it may be acknowledged.
                for submission in group:
                    submission.verdict, submission.outcome = None, None
                raise OperationalError("the intake group's transaction was rolled back")


_group_committer = _GroupCommitter()


def record_public_intake(
    answers: services.IntakeAnswers | None, bucket: str, shape: BucketShape
) -> tuple[Verdict, services.IntakeOutcome | None]:
    """A submission of the public form: take a token from the form's bucket and, if one was
    free and the answers are valid (None when the form was not), open the case.

    Token, case, intake, status and audit event commit together, and this returns only
    after the commit: an acknowledged intake is a stored one, a failure spends no token,
    and an invalid form spends one like any other submission so that a flood of junk is
    limited too. On a SQLite file or PostgreSQL the commit is shared with the other
    submissions of the moment (see _GroupCommitter); inside a caller's transaction it joins
    that one. A
    refusal this process already knows is given by the view before the form is read, and
    again by the writer (`take_tokens`) without asking the database.
    """
    submission = _Submission(
        intake=(
            services.prepare_intake(answers, IntakeChannel.PUBLIC_FORM)
            if answers is not None
            else None
        ),
        bucket=bucket,
        shape=shape,
    )
    if _shared_writer_fits():
        _group_committer.submit(submission)
    else:  # a group of one, in the caller's transaction or an in-memory database
        _GroupCommitter._write([submission])
        if submission.error is not None:
            raise submission.error
    assert submission.verdict is not None
    return submission.verdict, submission.outcome
