"""Benchmark the public intake against a bare Django view, both served by gunicorn on loopback.

Run with ``.venv/bin/python -m bench.bench_intake``. In one run it starts gunicorn (two
workers of four threads each, as `amparo serve` runs by default, with the default SQLite
database in a throwaway data directory) and, alternating rounds so that all see the same
machine load, drives:

* a bare view (``@public``, returns "ok") through the full middleware stack, and
* the public "I need help" form: a POST with every section filled, which passes the rate
  limit bucket, validates, seals the A-number and birth date and stores the case, and
* a "POST floor" view that receives the same body and does only what any form posted to
  this server must: Django parses the body, checks the CSRF token and the view answers with
  the same redirect. Nothing is validated or stored, so its rate is the most an intake
  served this way could reach; the report gives it as a ratio too.

Each round is a bounded loop: ``--clients`` threads each send ``--requests`` requests over
keep-alive connections. The clock runs from the moment all of them are connected, primed
with a CSRF token and hold their encoded bodies, to the last answer, so that it counts the
server's work on the timed requests and not the load generator's set-up. Then an overload
phase (``--overload-seconds``) sends intakes at ten times the measured sustainable rate
with the normal rate limit on, and checks that nothing crashes, every acknowledged intake
is stored, the excess gets 429/503 with Retry-After, and a staff page keeps answering.
Each round also reads the server's CPU time from /proc, so the report gives the CPU per
request of each view and what that leaves an intake for the target.
Writes bench/RESULTS_intake.md; with ``--postgresql`` the same run stores in a durable
PostgreSQL cluster of its own and writes bench/RESULTS_intake_postgresql.md.

This module is also the WSGI app gunicorn serves (``bench.bench_intake:application``).
"""

from __future__ import annotations

import argparse
import http.client
import os
import platform
import re
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

RESULTS = Path(__file__).with_name("RESULTS_intake.md")
ROOT = Path(__file__).resolve().parents[1]
INTAKE_PATH = "/hotline/help/"
BARE_PATH = "/bench/bare/"
FLOOR_PATH = "/bench/floor/"
STAFF_PATH = "/accounts/sign-in/"


# --- the served app ------------------------------------------------------------------------


def build_application() -> Any:
    """The project's WSGI app with one extra route: the bare view to compare against."""
    import django
    from django.conf import settings
    from django.http import HttpRequest, HttpResponse
    from django.shortcuts import redirect
    from django.urls import include, path
    from django.views.decorators.csrf import csrf_exempt

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "amparo.settings")
    django.setup()
    from django.core.wsgi import get_wsgi_application

    from amparo.web.policy import public

    @public
    @csrf_exempt
    def bare(request: HttpRequest) -> HttpResponse:
        return HttpResponse("ok\n", content_type="text/plain")

    @public
    def floor(request: HttpRequest) -> HttpResponse:
        # The CSRF middleware has read request.POST and checked the token by now.
        if "caller_name" not in request.POST:
            return HttpResponse("no form\n", status=400, content_type="text/plain")
        return redirect("hotline:help_thanks")

    global urlpatterns
    urlpatterns = [
        path("bench/bare/", bare),
        path("bench/floor/", floor),
        path("", include("amparo.urls")),
    ]
    settings.ROOT_URLCONF = __name__
    return get_wsgi_application()


urlpatterns: list[Any] = []
application = build_application() if os.environ.get("AMPARO_BENCH_SERVE") == "1" else None


# --- the load ------------------------------------------------------------------------------


GIVEN = ("José", "María", "Luis", "Ana", "Carlos", "Rosa", "Juan", "Lucía", "Pedro", "Elena")
FAMILY = ("Hernández", "García", "López", "Ramírez", "Cruz", "Morales", "Reyes", "Ortiz", "Díaz")


def form_body(index: int, token: str) -> str:
    """A full intake; names and birth dates vary as real ones do."""
    name = (
        f"{GIVEN[index % 10]} {GIVEN[index // 10 % 10]} "
        f"{FAMILY[index // 100 % 9]} {FAMILY[index // 900 % 9]} {index}"
    )
    born = f"{1950 + index % 50}-{1 + index // 50 % 12:02d}-{1 + index // 600 % 28:02d}"
    return urlencode(
        {
            "csrfmiddlewaretoken": token,
            "caller_name": f"Caller {index}",
            "caller_relationship": "sister",
            "caller_phone": "+1 555 0100",
            "caller_email": "caller@example.org",
            "safe_to_call": "on",
            "caller_language": "es",
            "legal_name": name,
            "other_names": "",
            "date_of_birth": born,
            "country_of_birth": "Honduras",
            "a_number": f"A{200000000 + index:09d}",
            "best_language": "es",
            "encounter_place": "work",
            "county": "Pinal",
            "encounter_when": "this morning",
            "children": "two",
            "children_with": "aunt",
            "needs_legal": "on",
            "consent_share_with_attorneys": "on",
            "update_channel": "email",
            "consent_updates_location": "on",
        }
    )


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    missing_retry_after: int = 0
    errors: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, status: int, seconds: float, retry_after: str | None) -> None:
        with self.lock:
            self.latencies.append(seconds)
            self.statuses[status] += 1
            if status in (429, 503) and not retry_after:
                self.missing_retry_after += 1


class Session:
    """One keep-alive connection with its own CSRF cookie and token."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.cookie = ""
        self.token = ""

    def request(self, method: str, path: str, body: str | None = None) -> tuple[int, str, Any]:
        headers = {"Host": "127.0.0.1", "Cookie": self.cookie}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in (1, 2):
            try:
                self.connection.request(method, path, body=body, headers=headers)
                response = self.connection.getresponse()
                text = response.read().decode(errors="replace")
                return response.status, text, response
            except (http.client.HTTPException, OSError):
                self.connection.close()
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def prime(self) -> None:
        status, text, response = self.request("GET", INTAKE_PATH)
        assert status == 200, f"GET {INTAKE_PATH} answered {status}"
        for header in response.headers.get_all("Set-Cookie") or []:
            if header.startswith("csrftoken="):
                self.cookie = header.split(";", 1)[0]
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', text)
        assert match, "no CSRF token on the public form"
        self.token = match.group(1)


def drive(
    port: int, target: str, clients: int, per_client: int, start_index: int
) -> tuple[Tally, float]:
    """Each client connects (and, for the intake, fetches the form for its CSRF token) and
    encodes its request bodies first; then all start together. Returns the tally and the
    seconds from that start until the last answer."""
    tally = Tally()
    ready = threading.Barrier(clients + 1, timeout=120)
    finished: list[float] = []

    def client(number: int) -> None:
        session = Session(port)
        if target in ("intake", "floor"):
            session.prime()
            first = start_index + number * per_client
            bodies = [form_body(i, session.token) for i in range(first, first + per_client)]
        else:
            session.request("GET", BARE_PATH)  # the connection is open before the clock runs
        ready.wait()
        for i in range(per_client):
            started = time.perf_counter()
            try:
                if target in ("intake", "floor"):
                    path = INTAKE_PATH if target == "intake" else FLOOR_PATH
                    status, _, response = session.request("POST", path, bodies[i])
                else:
                    status, _, response = session.request("GET", BARE_PATH)
            except (http.client.HTTPException, OSError):
                with tally.lock:
                    tally.errors += 1
                continue
            tally.add(status, time.perf_counter() - started, response.headers.get("Retry-After"))
        with tally.lock:
            finished.append(time.perf_counter())

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    ready.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return tally, (max(finished) if finished else time.perf_counter()) - began


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


@dataclass
class Round:
    rate: float
    p50: float
    p95: float
    statuses: Counter[int]
    server_cpu: float | None  # seconds of the server's CPU per request, where Linux tells


def server_cpu_seconds(server: subprocess.Popen[bytes]) -> float | None:
    """User and system CPU spent so far by gunicorn's arbiter and its workers (threads
    included), from /proc; None where there is no /proc to read."""
    try:
        pids = [server.pid]
        with open(f"/proc/{server.pid}/task/{server.pid}/children") as listed:
            pids += [int(pid) for pid in listed.read().split()]
        total = 0
        for pid in pids:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    except (OSError, ValueError, IndexError):
        return None
    return total / os.sysconf("SC_CLK_TCK")


def timed_round(
    server: subprocess.Popen[bytes],
    port: int,
    target: str,
    clients: int,
    per_client: int,
    start: int,
) -> Round:
    cpu_before = server_cpu_seconds(server)
    tally, elapsed = drive(port, target, clients, per_client, start)
    cpu_after = server_cpu_seconds(server)
    answered = len(tally.latencies)
    return Round(
        rate=answered / elapsed,
        p50=percentile(tally.latencies, 0.5),
        p95=percentile(tally.latencies, 0.95),
        statuses=tally.statuses,
        server_cpu=(
            (cpu_after - cpu_before) / answered
            if cpu_before is not None and cpu_after is not None and answered
            else None
        ),
    )


def overload(port: int, rate: float, seconds: float, start_index: int) -> tuple[Tally, Tally]:
    """Intakes paced at `rate` per second for `seconds`, with a staff page probed alongside."""
    intake, staff = Tally(), Tally()
    stop_at = time.monotonic() + seconds
    senders = 16
    interval = senders / rate

    def sender(number: int) -> None:
        session = Session(port)
        session.prime()
        index = start_index + number * 1_000_000
        next_at = time.monotonic()
        while time.monotonic() < stop_at:
            index += 1
            started = time.perf_counter()
            try:
                status, _, response = session.request(
                    "POST", INTAKE_PATH, form_body(index, session.token)
                )
            except (http.client.HTTPException, OSError):
                with intake.lock:
                    intake.errors += 1
            else:
                intake.add(
                    status, time.perf_counter() - started, response.headers.get("Retry-After")
                )
            next_at += interval
            time.sleep(max(0.0, next_at - time.monotonic()))

    def probe() -> None:
        session = Session(port)
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            try:
                status, _, _ = session.request("GET", STAFF_PATH)
            except (http.client.HTTPException, OSError):
                with staff.lock:
                    staff.errors += 1
            else:
                staff.add(status, time.perf_counter() - started, None)
            time.sleep(0.5)

    threads = [threading.Thread(target=sender, args=(n,)) for n in range(senders)]
    threads.append(threading.Thread(target=probe))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return intake, staff


# --- the server ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(
    data_dir: Path, port: int, burst: float, per_second: float
) -> subprocess.Popen[bytes]:
    env = dict(
        os.environ,
        AMPARO_DATA_DIR=str(data_dir),
        AMPARO_HTTPS="0",
        AMPARO_BENCH_SERVE="1",
        AMPARO_INTAKE_BURST=str(burst),
        AMPARO_INTAKE_PER_SECOND=str(per_second),
        DJANGO_SETTINGS_MODULE="amparo.settings",
        PYTHONPATH=str(ROOT),
    )
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--worker-class",
            "gthread",
            "--threads",
            "4",
            "--log-level",
            "warning",
            "bench.bench_intake:application",
        ],
        cwd=ROOT,
        env=env,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("gunicorn did not start listening within 30 seconds")


def stop_server(server: subprocess.Popen[bytes]) -> None:
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def stored_cases(data_dir: Path) -> int:
    database_url = os.environ.get("DATABASE_URL")
    if database_url:
        import psycopg

        with psycopg.connect(database_url) as db:
            row = db.execute("SELECT COUNT(*) FROM hotline_case").fetchone()
            return int(row[0]) if row else 0
    with sqlite3.connect(data_dir / "amparo.sqlite3") as db:
        return int(db.execute("SELECT COUNT(*) FROM hotline_case").fetchone()[0])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=60, help="per client per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--overload-seconds", type=float, default=120.0)
    parser.add_argument(
        "--postgresql",
        action="store_true",
        help="store in a durable PostgreSQL cluster of the run's own (fsync and synchronous "
        "commit on) instead of SQLite; writes RESULTS_intake_postgresql.md",
    )
    args = parser.parse_args(argv)
    os.environ.pop("DATABASE_URL", None)  # SQLite unless --postgresql says otherwise
    if not args.postgresql:
        return measure(args, RESULTS, "SQLite (WAL) in a throwaway data directory")
    from bench.faults.postgres import Cluster

    cluster = Cluster()
    cluster.start()
    try:
        os.environ["DATABASE_URL"] = cluster.url("amparo")
        return measure(
            args,
            RESULTS.with_name("RESULTS_intake_postgresql.md"),
            "PostgreSQL (fsync and synchronous commit on) on a Unix socket",
        )
    finally:
        os.environ.pop("DATABASE_URL", None)
        cluster.stop()


def median_cpu(rounds: list[Round]) -> float | None:
    measured = [r.server_cpu for r in rounds if r.server_cpu is not None]
    return statistics.median(measured) if measured else None


def _ms(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds * 1000:.2f}"


def cpu_budget(bare: list[Round], floor: list[Round], intake: list[Round]) -> list[str]:
    """What the server's CPU per request says about the target: on a machine whose cores are
    the limit, half the bare view's rate at the same CPU use leaves the intake twice the bare
    view's CPU per request, and the floor already spends most of that."""
    bare_cpu, floor_cpu, intake_cpu = median_cpu(bare), median_cpu(floor), median_cpu(intake)
    if bare_cpu is None or floor_cpu is None or intake_cpu is None:
        return []
    budget = 2 * bare_cpu
    return [
        f"Server CPU per request (gunicorn's processes, user and system time, from /proc): bare "
        f"{_ms(bare_cpu)} ms, floor {_ms(floor_cpu)} ms, intake {_ms(intake_cpu)} ms. At the "
        "CPU the server used for the bare view, half its rate leaves an intake "
        f"**{_ms(budget)} ms** of server CPU; the floor alone (parsing the body, checking the "
        f"CSRF token, redirecting) spends {_ms(floor_cpu)} ms of it, leaving "
        f"{_ms(max(budget - floor_cpu, 0.0))} ms for validating, sealing and storing, which "
        f"take {_ms(max(intake_cpu - floor_cpu, 0.0))} ms here.",
        "",
    ]


def measure(args: argparse.Namespace, results: Path, database: str) -> int:
    with tempfile.TemporaryDirectory(prefix="amparo-bench-intake-") as scratch:
        data_dir = Path(scratch)
        env = dict(os.environ, AMPARO_DATA_DIR=str(data_dir), AMPARO_HTTPS="0")
        subprocess.run(
            [sys.executable, "-m", "amparo.cli", "migrate", "--no-input", "-v", "0"],
            cwd=ROOT,
            env=env,
            check=True,
        )
        # Throughput: the rate limit opened wide so that it measures the work, not the limit.
        port = free_port()
        server = start_server(data_dir, port, burst=1e9, per_second=1e9)
        bare_rounds: list[Round] = []
        floor_rounds: list[Round] = []
        intake_rounds: list[Round] = []
        try:
            drive(port, "bare", 2, 10, 0)  # warm-up
            drive(port, "intake", 2, 5, 10_000_000)
            for number in range(args.rounds):
                bare_rounds.append(
                    timed_round(server, port, "bare", args.clients, args.requests, 0)
                )
                floor_rounds.append(
                    timed_round(server, port, "floor", args.clients, args.requests, 0)
                )
                intake_rounds.append(
                    timed_round(
                        server, port, "intake", args.clients, args.requests, number * 100_000
                    )
                )
        finally:
            stop_server(server)
        bare_rate = statistics.median(r.rate for r in bare_rounds)
        floor_rate = statistics.median(r.rate for r in floor_rounds)
        intake_rate = statistics.median(r.rate for r in intake_rounds)
        intake_p95 = statistics.median(r.p95 for r in intake_rounds)
        acknowledged = sum(r.statuses[302] for r in intake_rounds)

        # Overload: the shipped rate limit, ten times the measured sustainable rate.
        before = stored_cases(data_dir)
        port = free_port()
        server = start_server(data_dir, port, burst=30, per_second=2)
        try:
            flood, staff = overload(port, intake_rate * 10, args.overload_seconds, 50_000_000)
            alive = server.poll() is None
        finally:
            stop_server(server)
        flood_stored = stored_cases(data_dir) - before

    lines = [
        "# Public intake vs a bare Django view",
        "",
        f"Machine: {platform.platform()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}.",
        f"gunicorn, 2 workers × 4 threads, {database}; "
        f"{args.clients} client threads × {args.requests} requests per round, "
        f"{args.rounds} alternating rounds, medians reported.",
        "",
        "Command: `.venv/bin/python -m bench.bench_intake "
        f"--clients {args.clients} --requests {args.requests} --rounds {args.rounds} "
        f"--overload-seconds {args.overload_seconds:g}"
        f"{' --postgresql' if args.postgresql else ''}`",
        "",
        "| view | requests/s | p50 ms | p95 ms | server CPU ms/request | statuses |",
        "|---|---|---|---|---|---|",
    ]
    for name, rounds in (
        ("bare view", bare_rounds),
        ("POST floor (parse, CSRF, redirect)", floor_rounds),
        ("public intake (POST)", intake_rounds),
    ):
        statuses = sum((r.statuses for r in rounds), Counter())
        lines.append(
            f"| {name} | {statistics.median(r.rate for r in rounds):.0f} | "
            f"{statistics.median(r.p50 for r in rounds) * 1000:.0f} | "
            f"{statistics.median(r.p95 for r in rounds) * 1000:.0f} | "
            f"{_ms(median_cpu(rounds))} | {dict(statuses)} |"
        )
    ratio = intake_rate / bare_rate if bare_rate else 0.0
    paired = ", ".join(
        f"{i.rate / b.rate:.2f}" for b, i in zip(bare_rounds, intake_rounds, strict=True)
    )
    lines += [
        "",
        f"Intake / bare ratio: **{ratio:.2f}** (target ≥ 0.5); intake p95 "
        f"**{intake_p95 * 1000:.0f} ms** (target < 500 ms). Acknowledged intakes in these "
        f"rounds: {acknowledged}. Ratio in each pair of alternating rounds: {paired}.",
        "",
        f"POST floor / bare ratio: **{floor_rate / bare_rate if bare_rate else 0.0:.2f}**: "
        "the same body parsed and CSRF-checked and the same redirect, with nothing validated "
        "or stored, is the most an intake served this way could reach. What the intake does "
        "beyond it (validating, sealing, storing, answering after the commit) is the "
        f"difference: {floor_rate:.0f} → {intake_rate:.0f} requests/s.",
        "",
        *cpu_budget(bare_rounds, floor_rounds, intake_rounds),
        f"## Overload: {intake_rate * 10:.0f} intakes/s offered for {args.overload_seconds:.0f} s "
        "with the shipped limit (burst 30, 2/s)",
        "",
        f"- server still running afterwards: {alive}",
        f"- achieved: {sum(flood.statuses.values()) / args.overload_seconds:.1f} answers/s "
        "(the senders wait for each answer, so a slow server receives less than is offered)",
        f"- intake answers: {dict(flood.statuses)}; connection errors: {flood.errors}",
        f"- 429/503 without Retry-After: {flood.missing_retry_after}",
        f"- acknowledged (302): {flood.statuses[302]}; stored: {flood_stored} "
        f"({'all stored' if flood_stored >= flood.statuses[302] else 'MISSING'})",
        f"- staff page {STAFF_PATH}: {dict(staff.statuses)}, errors {staff.errors}, "
        f"p95 {percentile(staff.latencies, 0.95) * 1000:.0f} ms",
        "",
    ]
    report = "\n".join(lines)
    print(report)
    results.write_text(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
