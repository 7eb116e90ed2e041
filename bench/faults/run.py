"""Fault injection against a real Amparo on loopback: nothing acknowledged may be lost.

    python -m bench.faults.run kill --rounds 100      # the full kill test (about half an hour)
    python -m bench.faults.run plaintext              # kill mid-upload, then look for the bytes
    python -m bench.faults.run disk-full              # a 48 MiB tmpfs data directory, filled up
    python -m bench.faults.run db-restart             # PostgreSQL stopped immediately, 10 times
    python -m bench.faults.run surge                  # ten times the intake limit, two minutes

Each scenario makes its own instance in a temporary directory (SQLite, or PostgreSQL with
--database-url pointing at an empty database), drives it only over loopback, stops after a
fixed number of rounds and removes what it made. It prints a JSON summary.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.faults.instance import (
    CHUNK_SIZE,
    REPOSITORY,
    Instance,
    UploadAck,
    begin_upload,
    evidence_bytes,
    is_acknowledged,
    post_intake,
    put_chunk,
    request,
    submit_intake,
    upload,
)
from bench.faults.postgres import Cluster


@dataclass
class KillReport:
    rounds: int = 0
    uploads_acknowledged: int = 0
    uploads_found: int = 0
    uploads_lost: int = 0
    intakes_acknowledged: int = 0
    intakes_found: int = 0
    intakes_lost: int = 0
    partial_visible: int = 0
    tmp_files_after_start_up: int = 0
    log_inconsistent: int = 0
    cut_off_in_flight: int = 0
    restart_seconds_max: float = 0.0
    web_kills: int = 0
    worker_kills: int = 0
    # Background tasks: housekeeping enqueued each round, run by the `amparo worker`s.
    tasks_enqueued: int = 0
    tasks_successful: int = 0
    tasks_failed: int = 0
    tasks_unfinished: int = 0
    # Claimed by a worker that was then killed, handed back to the queue and run again.
    tasks_claimed_again: int = 0
    # From the workers' own logs: tasks started more than once, and ended more than once.
    tasks_started_twice: int = 0
    tasks_done_twice: int = 0
    # Worker kills that waited for a task to start, and kills that found a task running.
    worker_kills_aimed: int = 0
    worker_kills_mid_task: int = 0
    problems: list[str] = field(default_factory=list)


class Load:
    """Client threads uploading evidence and submitting intakes until told to stop."""

    def __init__(self, instance: Instance, rng: random.Random, uploaders: int, intakers: int):
        self.instance = instance
        self.stopped = threading.Event()
        self.uploads: list[UploadAck] = []
        self.intakes: list[str] = []
        self.failed = 0
        self._lock = threading.Lock()
        self._seeds = [rng.getrandbits(32) for _ in range(uploaders + intakers)]
        self._threads = [
            threading.Thread(target=self._upload_loop, args=(seed,), daemon=True)
            for seed in self._seeds[:uploaders]
        ] + [threading.Thread(target=self._intake_loop, daemon=True) for _ in range(intakers)]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self.stopped.set()
        for thread in self._threads:
            thread.join(60)

    def _upload_loop(self, seed: int) -> None:
        rng = random.Random(seed)
        while not self.stopped.is_set():
            data = evidence_bytes(rng.randint(20_000, 3 * CHUNK_SIZE))
            try:
                ack = upload(self.instance, data)
            except Exception:  # the server died under it: not acknowledged
                ack = None
            with self._lock:
                if ack is not None:
                    self.uploads.append(ack)
                else:
                    self.failed += 1
            if ack is None:
                time.sleep(0.02)

    def _intake_loop(self) -> None:
        while not self.stopped.is_set():
            marker = f"harness-{uuid.uuid4().hex}"
            try:
                acknowledged = submit_intake(self.instance, marker)
            except Exception:
                acknowledged = False
            with self._lock:
                if acknowledged:
                    self.intakes.append(marker)
                else:
                    self.failed += 1
            if not acknowledged:
                time.sleep(0.02)


def _inspect(
    instance: Instance,
    uploads: list[UploadAck],
    intakes: list[str],
    tasks: dict[str, Any] | None = None,
) -> dict[str, Any]:
    acknowledged: dict[str, Any] = {
        "uploads": [asdict(ack) for ack in uploads],
        "intakes": intakes,
    }
    if tasks is not None:
        acknowledged["tasks"] = tasks
    output = instance.run_module(
        "bench.faults.inspect_instance", "check", stdin=json.dumps(acknowledged)
    )
    result: dict[str, Any] = json.loads(output)
    return result


_TASK_LINE = re.compile(r"Task id=(\S+) path=\S+ state=(\w+)")


def task_log_counts(instance: Instance, workers: int) -> tuple[Counter[str], Counter[str]]:
    """How often each task id was started, and ended, according to every worker's log."""
    started: Counter[str] = Counter()
    ended: Counter[str] = Counter()
    for index in range(workers):
        path = instance.worker_log(index)
        if not path.exists():
            continue
        for task_id, state in _TASK_LINE.findall(path.read_text(errors="replace")):
            (started if state == "RUNNING" else ended)[task_id] += 1
    return started, ended


def _mid_task(instance: Instance, index: int) -> bool:
    """Whether worker ``index``'s log says it started a task it has not ended (yet)."""
    try:
        with instance.worker_log(index).open("rb") as log:
            log.seek(max(0, log.seek(0, 2) - 4096))
            tail = log.read().decode(errors="replace")
    except FileNotFoundError:
        return False
    lines = _TASK_LINE.findall(tail)
    return bool(lines) and lines[-1][1] == "RUNNING"


def _wait_mid_task(instance: Instance, index: int, seconds: float) -> bool:
    """Wait until worker ``index`` is running a task (True), or ``seconds`` have passed."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if _mid_task(instance, index):
            return True
        time.sleep(0.002)
    return False


def kill_test(
    instance: Instance,
    rounds: int,
    seed: int,
    workers: int = 2,
    tasks_per_round: int = 8,
    targets: list[str] | None = None,
) -> KillReport:
    """SIGKILL the server or a worker at a random moment under load, ``rounds`` times.

    Each round kills either the whole gunicorn process group ("web") or one of the
    ``workers`` background workers ("worker"), chosen at random unless ``targets`` lists
    them; then it starts what was killed and checks everything acknowledged so far. Each
    round also enqueues ``tasks_per_round`` housekeeping tasks, due over the next 3 s.
    """
    rng = random.Random(seed)
    report = KillReport()
    uploads: list[UploadAck] = []
    intakes: list[str] = []
    enqueued: set[str] = set()
    for number in range(rounds + 1):
        if not instance.running:
            report.restart_seconds_max = max(report.restart_seconds_max, instance.start())
        for index in range(workers):
            if index >= len(instance.workers) or instance.workers[index] is None:
                instance.start_worker(index)
        # The first upload after a start opens the store, which sweeps what the kill left.
        try:
            probe = upload(instance, evidence_bytes(50_000))
        except Exception as error:  # counted as a problem; the round's checks still run
            probe = None
            report.problems.append(f"round {number}: first upload after restart: {error}"[:300])
        if probe is None:
            report.problems.append(f"round {number}: the first upload after restart failed")
        else:
            uploads.append(probe)
        tasks = None
        if workers:
            tasks = {
                "enqueue": tasks_per_round if number < rounds else 0,
                "spread_seconds": 3.0,
                "seed": rng.getrandbits(32),
                "wait_seconds": 60,
            }
        checked = _inspect(instance, uploads, intakes, tasks)
        report.uploads_lost = len(checked["uploads_lost"])
        report.intakes_lost = len(checked["intakes_lost"])
        report.partial_visible += len(checked["partial"])
        report.tmp_files_after_start_up += len(checked["tmp_files"])
        if not checked["log"].startswith(("consistent", "no checkpoint")):
            report.log_inconsistent += 1
        for what in ("uploads_lost", "intakes_lost", "partial", "tmp_files"):
            if checked[what]:
                report.problems.append(f"round {number}: {what}: {checked[what][:3]}")
        if "tasks" in checked:
            task_state = checked["tasks"]
            enqueued.update(task_state["enqueued"])
            report.tasks_successful = task_state["statuses"].get("SUCCESSFUL", 0)
            report.tasks_failed = task_state["statuses"].get("FAILED", 0)
            report.tasks_unfinished = len(task_state["unfinished"])
            report.tasks_claimed_again = len(task_state["claimed_more_than_once"])
            for what in ("unfinished", "failed"):
                if task_state[what]:
                    report.problems.append(f"round {number}: tasks {what}: {task_state[what][:3]}")
        if number == rounds:
            instance.stop()
            break
        target = (
            targets[number] if targets else rng.choice(["web", "worker"] if workers else ["web"])
        )
        load = Load(instance, rng, uploaders=2, intakers=2)
        load.start()
        time.sleep(rng.uniform(0.3, 2.5))
        if target == "worker":
            index = rng.randrange(workers)
            # Housekeeping tasks take tens of milliseconds, so a kill at a random moment
            # seldom finds one running: half the worker kills wait for a task to start.
            if rng.random() < 0.5:
                report.worker_kills_aimed += 1
                _wait_mid_task(instance, index, 3.0)
            report.worker_kills_mid_task += _mid_task(instance, index)
            instance.kill_worker(index)
            report.worker_kills += 1
            load.stopped.set()
        else:
            # No new request starts once the kill is decided; those in flight are cut off.
            load.stopped.set()
            instance.kill()
            report.web_kills += 1
        load.stop()
        uploads.extend(load.uploads)
        intakes.extend(load.intakes)
        report.cut_off_in_flight += load.failed
        report.rounds += 1
    report.uploads_acknowledged = len(uploads)
    report.uploads_found = report.uploads_acknowledged - report.uploads_lost
    report.intakes_acknowledged = len(intakes)
    report.intakes_found = report.intakes_acknowledged - report.intakes_lost
    report.tasks_enqueued = len(enqueued)
    started, ended = task_log_counts(instance, workers)
    report.tasks_started_twice = sum(1 for count in started.values() if count > 1)
    report.tasks_done_twice = sum(1 for count in ended.values() if count > 1)
    if report.tasks_done_twice:
        twice = [task_id for task_id, count in ended.items() if count > 1]
        report.problems.append(f"tasks ended more than once: {twice[:3]}")
    return report


def _send_partial_chunk(
    instance: Instance, file_id: str, offset: int, chunk: bytes
) -> socket.socket:
    """Start a chunk upload and send only half its body, leaving the request in flight."""
    connection = socket.create_connection(("127.0.0.1", instance.port))
    head = (
        f"PUT /field/api/uploads/{file_id}/chunks/{offset} HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{instance.port}\r\n"
        f"Authorization: Bearer {instance.token}\r\n"
        f"X-Chunk-SHA256: {hashlib.sha256(chunk).hexdigest()}\r\n"
        "Content-Type: application/octet-stream\r\n"
        f"Content-Length: {len(chunk)}\r\n\r\n"
    ).encode()
    connection.sendall(head + chunk[: len(chunk) // 2])
    return connection


# Files written during the run that are larger than this are not ours to read.
_SCAN_LIMIT = 256 * 1024 * 1024


def _scan(roots: list[Path], marker: bytes, since: float) -> list[str]:
    hits: set[str] = set()
    for root in roots:
        if not root.exists():
            continue
        for path in root.rglob("*"):
            try:
                if not path.is_file() or path.is_symlink():
                    continue
                status = path.stat()
                if status.st_mtime < since or status.st_size > _SCAN_LIMIT:
                    continue
                with path.open("rb") as stream:
                    tail = b""
                    while block := stream.read(8 * 1024 * 1024):
                        if marker in tail + block:
                            hits.add(str(path))
                            break
                        tail = block[-len(marker) :]
            except OSError:
                continue
    return sorted(hits)


def plaintext_test(instance: Instance) -> dict[str, Any]:
    """Upload a marked file, kill the server mid-upload, then search every place for the marker."""
    since = time.time() - 1
    marker = f"AMPARO-PLAINTEXT-MARKER-{uuid.uuid4().hex}".encode()
    instance.start()
    complete = upload(instance, evidence_bytes(2 * CHUNK_SIZE + 1000, marker))
    data = evidence_bytes(3 * CHUNK_SIZE, marker)
    file_id = str(uuid.uuid4())
    begin_upload(instance, data, file_id)
    put_chunk(instance, file_id, 0, data[:CHUNK_SIZE])
    second_chunk = data[CHUNK_SIZE : 2 * CHUNK_SIZE]
    in_flight = _send_partial_chunk(instance, file_id, CHUNK_SIZE, second_chunk)
    time.sleep(0.5)
    instance.kill()
    in_flight.close()
    roots = [instance.data_dir, instance.temp_dir, Path(tempfile.gettempdir())]
    hits = _scan(roots, marker, since)
    # Start again: whatever start-up and the first upload sweep should leave no plaintext either.
    instance.start()
    upload(instance, evidence_bytes(10_000))
    instance.stop()
    after_restart = _scan(roots, marker, since)
    return {
        "complete_upload_acknowledged": complete is not None,
        "scanned": [str(root) for root in roots],
        "hits_after_kill": hits,
        "hits_after_restart": after_restart,
    }


def db_restart_test(root: Path, restarts: int, seed: int) -> dict[str, Any]:
    """Restart PostgreSQL in immediate mode ``restarts`` times under a steady intake load."""
    rng = random.Random(seed)
    cluster = Cluster()
    cluster.start()
    try:
        instance = Instance(root / "db-restart", cluster.url("amparo"))
        instance.prepare()
        instance.start()
        load = Load(instance, rng, uploaders=1, intakers=3)
        load.start()
        probes: list[str] = []
        recovery: list[float] = []
        try:
            for _ in range(restarts):
                time.sleep(rng.uniform(0.5, 2.0))
                cluster.restart_immediately()
                # Recovery without a hand: the next intake after the restart gets through.
                restarted = time.monotonic()
                while time.monotonic() - restarted < 60:
                    marker = f"probe-{uuid.uuid4().hex}"
                    with contextlib.suppress(OSError):
                        if submit_intake(instance, marker):
                            probes.append(marker)
                            break
                    time.sleep(0.1)
                recovery.append(round(time.monotonic() - restarted, 2))
        finally:
            load.stopped.set()
            load.stop()
        alive = instance.process is not None and instance.process.poll() is None
        intakes = load.intakes + probes
        checked = _inspect(instance, load.uploads, intakes)
        instance.stop()
    finally:
        cluster.stop()
    return {
        "restarts": restarts,
        "intakes_acknowledged": len(intakes),
        "intakes_lost": len(checked["intakes_lost"]),
        "uploads_acknowledged": len(load.uploads),
        "uploads_lost": len(checked["uploads_lost"]),
        "partial_visible": checked["partial"],
        "refused_during_restarts": load.failed,
        "recovery_seconds": recovery,
        "server_alive": alive,
    }


def surge_test(instance: Instance, seconds: float, rate: float) -> dict[str, Any]:
    """Offer intakes at ``rate`` per second (the form allows 2 a second) for ``seconds``.

    Counts the answers, checks that every acknowledged intake was stored, and meanwhile asks
    for the sign-in page once a second, as staff would.
    """
    instance.start()
    statuses: dict[str, int] = {}
    acknowledged: list[str] = []
    without_retry_after = 0
    staff_latencies: list[float] = []
    staff_answers: dict[str, int] = {}
    lock = threading.Lock()
    stopped = threading.Event()

    def offer(marker: str) -> None:
        nonlocal without_retry_after
        try:
            status, headers = post_intake(instance, marker)
        except OSError:
            status, headers = -1, {}
        with lock:
            key = "error" if status == -1 else str(status)
            statuses[key] = statuses.get(key, 0) + 1
            if is_acknowledged(status, headers):
                acknowledged.append(marker)
            elif status in {429, 503} and not headers.get("Retry-After"):
                without_retry_after += 1

    def staff() -> None:
        while not stopped.wait(1.0):
            started = time.monotonic()
            try:
                status, _headers, _body = request(instance.port, "GET", "/accounts/sign-in/")
            except OSError:
                status = -1
            with lock:
                staff_latencies.append(time.monotonic() - started)
                key = "error" if status == -1 else str(status)
                staff_answers[key] = staff_answers.get(key, 0) + 1

    watcher = threading.Thread(target=staff, daemon=True)
    watcher.start()
    workers: list[threading.Thread] = []
    began = time.monotonic()
    sent = 0
    not_sent = 0
    while time.monotonic() - began < seconds:
        # Open loop: requests go out on schedule whether or not earlier ones were answered.
        due = began + sent / rate
        time.sleep(max(0.0, due - time.monotonic()))
        workers = [worker for worker in workers if worker.is_alive()]
        if len(workers) < 64:
            worker = threading.Thread(target=offer, args=(f"surge-{uuid.uuid4().hex}",))
            worker.start()
            workers.append(worker)
        else:
            # 64 requests unanswered already: the client side is saturated too.
            not_sent += 1
        sent += 1
    for worker in workers:
        worker.join(60)
    stopped.set()
    watcher.join(10)
    alive = instance.process is not None and instance.process.poll() is None
    checked = _inspect(instance, [], acknowledged)
    instance.stop()
    return {
        "seconds": seconds,
        "offered_per_second": rate,
        "offered": sent - not_sent,
        "not_sent_64_in_flight": not_sent,
        "answers": statuses,
        "acknowledged": len(acknowledged),
        "lost": len(checked["intakes_lost"]),
        "busy_answers_without_retry_after": without_retry_after,
        "staff_page_answers": staff_answers,
        "staff_page_seconds_max": round(max(staff_latencies, default=0.0), 2),
        "staff_page_seconds_median": round(
            sorted(staff_latencies)[len(staff_latencies) // 2] if staff_latencies else 0.0, 2
        ),
        "server_alive": alive,
    }


DISK_FULL_CHILD = "bench.faults.disk_full"


def disk_full_test(instance: Instance) -> dict[str, Any]:
    """Run the disk-full scenario in a private mount namespace with a tmpfs data directory."""
    unshare = shutil.which("unshare")
    if unshare is None or subprocess.run([unshare, "-rm", "true"], capture_output=True).returncode:
        return {"skipped": "unshare cannot create a private mount namespace here"}
    instance.root.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [unshare, "-rm", sys.executable, "-m", DISK_FULL_CHILD, str(instance.root)],
        cwd=REPOSITORY,
        env=instance.environment,
        capture_output=True,
        timeout=600,
    )
    if result.returncode != 0:
        return {"error": result.stderr.decode()[-3000:]}
    summary: dict[str, Any] = json.loads(result.stdout)
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "scenario", choices=["kill", "plaintext", "disk-full", "db-restart", "surge", "all"]
    )
    parser.add_argument("--rounds", type=int, default=100, help="kills in the kill test")
    parser.add_argument(
        "--workers", type=int, default=2, help="`amparo worker`s in the kill test (0: none)"
    )
    parser.add_argument("--restarts", type=int, default=10, help="PostgreSQL restarts")
    parser.add_argument("--surge-seconds", type=float, default=120.0)
    parser.add_argument("--surge-rate", type=float, default=20.0, help="intakes offered per second")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--database-url", default=None, help="an empty PostgreSQL database")
    parser.add_argument("--keep", action="store_true", help="keep the instance's directory")
    arguments = parser.parse_args(argv)
    seed = arguments.seed if arguments.seed is not None else random.SystemRandom().getrandbits(32)
    root = Path(tempfile.mkdtemp(prefix="amparo-faults-"))
    summary: dict[str, Any] = {"seed": seed, "directory": str(root)}
    started = time.monotonic()
    try:
        if arguments.scenario in {"kill", "plaintext", "all"}:
            instance = Instance(root / "instance", arguments.database_url)
            instance.prepare()
            try:
                if arguments.scenario in {"kill", "all"}:
                    summary["kill"] = asdict(
                        kill_test(instance, arguments.rounds, seed, arguments.workers)
                    )
                if arguments.scenario in {"plaintext", "all"}:
                    summary["plaintext"] = plaintext_test(instance)
            finally:
                instance.stop()
        if arguments.scenario in {"disk-full", "all"}:
            summary["disk_full"] = disk_full_test(Instance(root / "disk-full"))
        if arguments.scenario in {"db-restart", "all"}:
            summary["db_restart"] = db_restart_test(root, arguments.restarts, seed)
        if arguments.scenario in {"surge", "all"}:
            surge = Instance(root / "surge", arguments.database_url, unthrottled=False)
            surge.prepare()
            summary["surge"] = surge_test(surge, arguments.surge_seconds, arguments.surge_rate)
    finally:
        summary["seconds"] = round(time.monotonic() - started, 1)
        if not arguments.keep:
            with contextlib.suppress(OSError):
                shutil.rmtree(root)
    print(json.dumps(summary, indent=2))
    kill = summary.get("kill", {})
    lost = sum(
        part.get(name, 0)
        for part in (kill, summary.get("db_restart", {}), summary.get("surge", {}))
        for name in ("uploads_lost", "intakes_lost", "lost")
    )
    failed = any(
        kill.get(name)
        for name in ("partial_visible", "log_inconsistent", "tasks_done_twice", "tasks_unfinished")
    )
    return 1 if lost or failed else 0


if __name__ == "__main__":
    sys.exit(main())
