"""A throwaway Amparo instance on loopback for fault injection, and the clients that load it.

The instance runs `amparo serve` (gunicorn) in its own process group so that one SIGKILL
takes down the master and every worker at once, as a power cut or an OOM kill would. Its
background workers (`amparo worker`) run each in a process group of its own, so that one of
them can be killed while the web server and the other go on.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

REPOSITORY = Path(__file__).resolve().parents[2]
CHUNK_SIZE = 1024 * 1024
# A JPEG's first bytes, so the upload passes the check of type by content.
JPEG_HEAD = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Instance:
    """Data directory, environment and server process of one instance."""

    root: Path
    database_url: str | None = None
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    token: str = ""
    report_id: str = ""
    # False keeps the public form's real rate limit (the surge test); True lifts it.
    unthrottled: bool = True
    # `amparo worker` processes by index (None: not running); see start_worker().
    workers: list[subprocess.Popen[bytes] | None] = field(default_factory=list)

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def temp_dir(self) -> Path:
        return self.root / "tmp"

    @property
    def environment(self) -> dict[str, str]:
        environment = {
            key: value
            for key, value in os.environ.items()
            if key not in {"DATABASE_URL", "AMPARO_SECRET_KEY", "AMPARO_EVIDENCE_DIR"}
        }
        environment.update(
            AMPARO_DATA_DIR=str(self.data_dir),
            AMPARO_HTTPS="0",
            ALLOWED_HOSTS="127.0.0.1",
            TMPDIR=str(self.temp_dir),
            PYTHONPATH=str(REPOSITORY),
            DJANGO_SETTINGS_MODULE="amparo.settings",
        )
        if self.database_url:
            environment["DATABASE_URL"] = self.database_url
        if self.unthrottled:
            # The kill test measures loss, not the intake rate limit (the surge test does).
            environment.update(AMPARO_INTAKE_BURST="100000", AMPARO_INTAKE_PER_SECOND="100000")
        else:
            environment.pop("AMPARO_INTAKE_BURST", None)
            environment.pop("AMPARO_INTAKE_PER_SECOND", None)
        return environment

    def run_module(self, module: str, *arguments: str, stdin: str = "") -> str:
        result = subprocess.run(
            [sys.executable, "-m", module, *arguments],
            cwd=REPOSITORY,
            env=self.environment,
            input=stdin.encode(),
            capture_output=True,
        )
        if result.returncode != 0:
            raise RuntimeError(f"{module} {arguments}: {result.stderr.decode()[-3000:]}")
        return result.stdout.decode()

    def migrate(self) -> None:
        """Make the data and temporary directories and migrate: an instance with nothing in it."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.temp_dir.mkdir(parents=True, exist_ok=True)
        self.run_module("amparo.cli", "migrate", "--no-input", "--verbosity", "0")

    def prepare(self) -> None:
        """Migrate, then make an observer with a connected phone and one report."""
        self.migrate()
        made = json.loads(self.run_module("bench.faults.inspect_instance", "setup"))
        self.token = made["token"]
        self.report_id = made["report_id"]

    def start(self, timeout: float = 90) -> float:
        """Start gunicorn and wait until it answers; return the seconds it took."""
        started = time.monotonic()
        log = (self.root / "server.log").open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "amparo.cli",
                "serve",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                "2",
            ],
            cwd=REPOSITORY,
            env=self.environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        while time.monotonic() - started < timeout:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited; see {self.root / 'server.log'}")
            try:
                status, _headers, _body = request(self.port, "GET", "/hotline/help/", timeout=5)
                if status == 200:
                    return time.monotonic() - started
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"the server did not answer within {timeout} s")

    def kill(self) -> None:
        """SIGKILL the server's whole process group: master and workers die mid-request."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        # Workers are in the group too; give the kernel a moment to reap them.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.killpg(self.process.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        self.process = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def worker_log(self, index: int) -> Path:
        return self.root / f"worker-{index}.log"

    def start_worker(self, index: int) -> None:
        """Start `amparo worker` number ``index``; it logs each task's start and end."""
        while len(self.workers) <= index:
            self.workers.append(None)
        log = self.worker_log(index).open("ab")
        self.workers[index] = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "amparo.cli",
                "worker",
                "--interval",
                "0.2",
                "--schedule-tick",
                "5",
            ],
            cwd=REPOSITORY,
            # Unbuffered, so that a SIGKILL loses no line the worker already wrote.
            env={**self.environment, "PYTHONUNBUFFERED": "1"},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    def kill_worker(self, index: int) -> None:
        """SIGKILL one worker, mid-task or not, as the OOM killer would."""
        worker = self.workers[index]
        if worker is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
        self.workers[index] = None

    def stop_workers(self) -> None:
        """SIGTERM every worker: each finishes its task, then exits."""
        for index, worker in enumerate(self.workers):
            if worker is None:
                continue
            try:
                os.killpg(worker.pid, signal.SIGTERM)
                worker.wait(60)
            except ProcessLookupError:
                pass
            except subprocess.TimeoutExpired:
                self.kill_worker(index)
            self.workers[index] = None

    def stop(self) -> None:
        self.stop_workers()
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(30)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            self.kill()
        self.process = None


def request(
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30,
) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


@dataclass(frozen=True)
class UploadAck:
    file_id: str
    item_id: str
    sha256: str
    size: int


def evidence_bytes(size: int, marker: bytes = b"") -> bytes:
    body = marker * (size // max(len(marker), 1)) if marker else os.urandom(size)
    return (JPEG_HEAD + body)[:size]


def begin_upload(instance: Instance, data: bytes, file_id: str) -> int:
    description = {
        "report_id": instance.report_id,
        "file_id": file_id,
        "sha256": hashlib.sha256(data).hexdigest(),
        "size": len(data),
        "filename": f"{file_id}.jpg",
    }
    status, _headers, body = request(
        instance.port,
        "POST",
        "/field/api/uploads",
        json.dumps(description).encode(),
        {"Authorization": f"Bearer {instance.token}", "Content-Type": "application/json"},
    )
    if status != 200:
        raise RuntimeError(f"begin upload: {status} {body[:200]!r}")
    return int(json.loads(body)["received_bytes"])


def put_chunk(instance: Instance, file_id: str, offset: int, chunk: bytes) -> dict[str, Any]:
    status, _headers, body = request(
        instance.port,
        "PUT",
        f"/field/api/uploads/{file_id}/chunks/{offset}",
        chunk,
        {
            "Authorization": f"Bearer {instance.token}",
            "X-Chunk-SHA256": hashlib.sha256(chunk).hexdigest(),
            "Content-Type": "application/octet-stream",
        },
    )
    if status != 200:
        raise RuntimeError(f"chunk at {offset}: {status} {body[:200]!r}")
    answer: dict[str, Any] = json.loads(body)
    return answer


def upload(instance: Instance, data: bytes) -> UploadAck | None:
    """Send a file through the capture app's sync API; the receipt is the acknowledgement."""
    file_id = str(uuid.uuid4())
    offset = begin_upload(instance, data, file_id)
    state: dict[str, Any] = {}
    while offset < len(data):
        state = put_chunk(instance, file_id, offset, data[offset : offset + CHUNK_SIZE])
        offset = int(state["received_bytes"])
    if not state.get("confirmed"):
        return None
    receipt = state["receipt"]
    return UploadAck(file_id, receipt["item_id"], receipt["sha256"], int(receipt["size"]))


_CSRF_FIELD = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')


def intake_submission(instance: Instance, marker: str) -> tuple[bytes, dict[str, str]] | None:
    """Fetch the public help form and fill it in: the body and headers to POST (None if the
    form did not come)."""
    status, headers, page = request(instance.port, "GET", "/hotline/help/")
    found = _CSRF_FIELD.search(page)
    cookie = headers.get("Set-Cookie", "")
    if status != 200 or found is None or "csrftoken=" not in cookie:
        return None
    csrf_cookie = cookie.split("csrftoken=", 1)[1].split(";", 1)[0]
    form = {
        "csrfmiddlewaretoken": found.group(1).decode(),
        "caller_name": marker,
        "caller_phone": "+1 555 0100",
        "safe_to_call": "on",
        "caller_language": "es",
        "legal_name": f"Persona {marker}",
        "best_language": "es",
        "needs_legal": "on",
        "consent_share_with_attorneys": "on",
        "update_channel": "",
    }
    return urlencode(form).encode(), {
        "Content-Type": "application/x-www-form-urlencoded",
        "Cookie": f"csrftoken={csrf_cookie}",
    }


def post_intake(instance: Instance, marker: str) -> tuple[int, dict[str, str]]:
    """Fill in the public help form; returns the answer's status and headers (0 if no form)."""
    submission = intake_submission(instance, marker)
    if submission is None:
        return 0, {}
    body, headers = submission
    status, answer_headers, _body = request(instance.port, "POST", "/hotline/help/", body, headers)
    return status, answer_headers


def is_acknowledged(status: int, headers: dict[str, str]) -> bool:
    """The intake was stored: the form redirected to the thank-you page."""
    return status == 302 and headers.get("Location", "").rstrip("/").endswith("help/thanks")


def submit_intake(instance: Instance, marker: str) -> bool:
    """Submit one intake; True only when the server acknowledged it."""
    return is_acknowledged(*post_intake(instance, marker))
