"""The queue in front of the intake writer: what arrives while a group is being written goes
into the next group, every request waits for its own group, and a writer that dies is
replaced. The database side of the writer runs for real in test_intake_group_commit.py
(gunicorn on a SQLite file) and test_intake_admission.py (savepoints)."""

from __future__ import annotations

import threading

import pytest

from amparo.hotline import intake_writer
from amparo.hotline.intake_throttle import BucketShape, Verdict


def submission() -> intake_writer._Submission:
    return intake_writer._Submission(
        intake=None,
        bucket="b",
        shape=BucketShape(capacity=1, refill_per_second=1),
    )


class RecordingCommitter(intake_writer._GroupCommitter):
    """Writes nothing: records each group, and holds the first until told to go on."""

    answer_within_seconds = 10.0

    def __init__(self) -> None:
        super().__init__()
        self.groups: list[int] = []
        self.first_started = threading.Event()
        self.go_on = threading.Event()
        self.die_once = False
        self.fail_once = False

    def _write(self, group: list[intake_writer._Submission]) -> None:  # type: ignore[override]
        self.groups.append(len(group))
        if self.die_once:
            self.die_once = False
            raise SystemExit
        if self.fail_once:
            self.fail_once = False
            raise OSError("disk full")
        if len(self.groups) == 1:
            self.first_started.set()
            assert self.go_on.wait(10)
        for item in group:
            item.verdict = Verdict(allowed=True)


def submit_in_threads(committer: RecordingCommitter, count: int) -> list[threading.Thread]:
    threads = [
        threading.Thread(target=committer.submit, args=(submission(),)) for _ in range(count)
    ]
    for thread in threads:
        thread.start()
    return threads


def test_what_arrives_during_a_write_is_written_as_the_next_group():
    committer = RecordingCommitter()
    first = submit_in_threads(committer, 1)
    assert committer.first_started.wait(10)
    waiting = submit_in_threads(committer, 5)
    while committer._queue.qsize() < 5:
        threading.Event().wait(0.01)
    assert all(thread.is_alive() for thread in waiting)  # nobody answered before its group
    committer.go_on.set()
    for thread in first + waiting:
        thread.join(10)
    assert committer.groups == [1, 5]


# The writer thread ends on SystemExit on purpose here; pytest reports any such ending.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_writer_that_dies_fails_its_group_and_is_replaced():
    committer = RecordingCommitter()
    committer.go_on.set()
    committer.submit(submission())
    writer = committer._writer
    assert writer is not None
    committer.die_once = True
    doomed = submission()
    with pytest.raises(RuntimeError, match="writer stopped"):
        committer.submit(doomed)
    # Let the thread finish dying inside this test, so that pytest does not report its ending
    # against whichever test runs next.
    writer.join(10)
    assert not writer.is_alive()
    assert doomed.verdict is None
    after = submission()
    committer.submit(after)
    assert after.verdict == Verdict(allowed=True)
    assert committer.groups == [1, 1, 1]


def test_a_failed_write_fails_its_group_and_the_writer_goes_on():
    committer = RecordingCommitter()
    committer.go_on.set()
    committer.submit(submission())
    committer.fail_once = True
    with pytest.raises(OSError, match="disk full"):
        committer.submit(submission())
    after = submission()
    committer.submit(after)
    assert after.verdict == Verdict(allowed=True)
    assert committer.groups == [1, 1, 1]
