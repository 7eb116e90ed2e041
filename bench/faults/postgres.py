"""A PostgreSQL cluster of the harness's own (Debian's postgresql), durable, on a Unix socket.

Unlike the test suite's throwaway cluster, this one keeps fsync and synchronous commit on:
the database-restart scenario measures whether committed intakes survive an immediate stop.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path


def _bin_dir() -> Path:
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
        key=lambda path: int(path.parts[-3]) if path.parts[-3].isdigit() else 0,
    )
    if not found:
        raise RuntimeError("PostgreSQL is not installed (apt-get install postgresql)")
    return found[-1].parent


class Cluster:
    """A cluster in a directory of its own directly under the temp directory.

    Not inside the harness's directory: when the harness runs as root, the server runs as the
    postgres user, which must reach its socket directory.
    """

    def __init__(self) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="amparo-faults-pg-"))
        self.data = self.base / "data"
        self.bin = _bin_dir()
        self.as_root = os.geteuid() == 0

    def _run(self, *arguments: str) -> None:
        # PostgreSQL refuses to run as root; run it as the postgres user when we are root.
        prefix = ["runuser", "-u", "postgres", "--"] if self.as_root else []
        subprocess.run([*prefix, *arguments], check=True, capture_output=True)

    def url(self, database: str) -> str:
        return f"postgres://amparo@/{database}?host={self.base}"

    def start(self) -> None:
        if self.as_root:
            subprocess.run(["chown", "postgres", str(self.base)], check=True)
        self._run(
            str(self.bin / "initdb"), "-D", str(self.data), "-U", "amparo", "-A", "trust",
            "-E", "UTF8", "--locale=C.UTF-8",
        )  # fmt: skip
        self._pg_ctl_start()
        self._run(str(self.bin / "createdb"), "-h", str(self.base), "-U", "amparo", "amparo")

    def _pg_ctl_start(self) -> None:
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.base / "server.log"),
            "-w", "-o", f"-k {self.base} -c listen_addresses='' -c max_connections=100", "start",
        )  # fmt: skip

    def restart_immediately(self) -> None:
        """Stop without a checkpoint (as a crash would), then start again."""
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        self._pg_ctl_start()

    def stop(self) -> None:
        """Stop the server and remove the cluster."""
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "stop")
        shutil.rmtree(self.base, ignore_errors=True)
