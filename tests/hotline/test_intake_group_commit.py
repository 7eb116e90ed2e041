"""The public form under concurrent load, served by gunicorn on a real SQLite file: through
`amparo serve` (two workers of four threads each) and with gunicorn's sync workers, which
take one request at a time (groups of one).

Submissions that arrive together share one commit (intake_writer._GroupCommitter); these tests
check what that must never cost: every acknowledged intake is stored, with its audit event,
even when the whole server is SIGKILLed while submissions are in flight.
"""

from __future__ import annotations

import http.client
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.faults.instance import REPOSITORY, Instance, is_acknowledged, post_intake
from bench.faults.instance import request as http_request

pytestmark = pytest.mark.slow


def start_sync(instance: Instance) -> None:
    """gunicorn with two sync workers, each taking one request at a time, so that every
    group is of one (`amparo serve` runs threaded workers, whose submissions share groups)."""
    log = (instance.root / "server.log").open("ab")
    instance.process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "amparo.wsgi:application",
            "--bind",
            f"127.0.0.1:{instance.port}",
            "--workers",
            "2",
            "--worker-class",
            "sync",
        ],
        cwd=REPOSITORY,
        env=instance.environment,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # Instance.kill() SIGKILLs the whole group
    )
    log.close()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if http_request(instance.port, "GET", "/hotline/help/", timeout=5)[0] == 200:
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("gunicorn did not answer within 60 s")


@pytest.fixture(params=["serve", "sync"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Instance]:
    instance = Instance(tmp_path / "instance")
    instance.migrate()
    if request.param == "serve":
        instance.start()
    else:
        start_sync(instance)
    try:
        yield instance
    finally:
        instance.stop()


def stored(instance: Instance) -> tuple[set[str], set[str]]:
    """Caller names of stored intakes, and the cases their audit events name."""
    with sqlite3.connect(instance.data_dir / "amparo.sqlite3") as db:
        names = {row[0] for row in db.execute("SELECT caller_name FROM hotline_intake")}
        audited = {
            row[0]
            for row in db.execute(
                "SELECT target FROM audit_auditevent WHERE action = 'hotline.intake.public'"
            )
        }
        cases = {f"case:{row[0]}" for row in db.execute("SELECT case_id FROM hotline_intake")}
    assert cases <= audited, "an intake was stored without its audit event"
    return names, audited


def submit_many(instance: Instance, senders: int, each: int, prefix: str) -> list[str]:
    acknowledged: list[str] = []
    lock = threading.Lock()

    def sender(number: int) -> None:
        for i in range(each):
            marker = f"{prefix}-{number}-{i}"
            try:
                ok = is_acknowledged(*post_intake(instance, marker))
            except (OSError, http.client.HTTPException):
                return  # the server went away mid-request (or mid-answer): not acknowledged
            if ok:
                with lock:
                    acknowledged.append(marker)

    threads = [threading.Thread(target=sender, args=(n,)) for n in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return acknowledged


def test_concurrent_submissions_are_all_acknowledged_and_stored(server: Instance) -> None:
    acknowledged = submit_many(server, senders=12, each=5, prefix="together")
    assert len(acknowledged) == 60
    names, _audited = stored(server)
    assert set(acknowledged) <= names
    assert len(names) == 60  # each stored once


def test_a_sigkill_mid_burst_loses_no_acknowledged_intake(server: Instance) -> None:
    acknowledged: list[str] = []
    burst = threading.Thread(
        target=lambda: acknowledged.extend(submit_many(server, 12, 40, prefix="burst"))
    )
    burst.start()
    deadline = time.monotonic() + 60
    while len(acknowledged) < 1 and time.monotonic() < deadline:
        # submit_many reports at the end; wait on the database instead.
        time.sleep(0.05)
        with sqlite3.connect(server.data_dir / "amparo.sqlite3") as db:
            if db.execute("SELECT COUNT(*) FROM hotline_intake").fetchone()[0] >= 20:
                break
    server.kill()
    burst.join()
    names, _audited = stored(server)
    assert acknowledged, "nothing was acknowledged before the kill"
    assert len(acknowledged) < 12 * 40, "the kill came after the burst had finished"
    lost = set(acknowledged) - names
    assert lost == set()
