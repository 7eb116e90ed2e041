"""The disk-full scenario; runs as root of a private user and mount namespace (`unshare -rm`).

    unshare -rm python -m bench.faults.disk_full DIR

Mounts a 48 MiB tmpfs as the instance's data directory, uploads until the disk is full, then
frees space and uploads again. Prints a JSON summary: what was acknowledged, how the refusal
read, what was lost (must be nothing), and whether uploads worked again.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.faults.instance import CHUNK_SIZE, Instance, UploadAck, evidence_bytes, upload

TMPFS_SIZE = "48m"


def _free_bytes(path: Path) -> int:
    status = os.statvfs(path)
    return status.f_bavail * status.f_frsize


def _try_upload(instance: Instance, size: int) -> tuple[UploadAck | None, str]:
    try:
        return upload(instance, evidence_bytes(size)), ""
    except Exception as error:  # the refusal, as a client sees it
        return None, str(error)[:400]


def run(root: Path) -> dict[str, Any]:
    instance = Instance(root)
    instance.data_dir.mkdir(parents=True, exist_ok=True)
    options = f"size={TMPFS_SIZE},mode=0700"
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(instance.data_dir)], check=True
    )
    instance.prepare()
    instance.start()
    acknowledged: list[UploadAck] = []
    summary: dict[str, Any] = {"tmpfs": TMPFS_SIZE}
    try:
        for _ in range(3):
            ack, _error = _try_upload(instance, CHUNK_SIZE + 5000)
            if ack is not None:
                acknowledged.append(ack)
        # Leave about 3 MiB, then upload 2 MiB files until one is refused.
        filler = instance.data_dir / "filler"
        with filler.open("wb") as stream:
            remaining = _free_bytes(instance.data_dir) - 3 * CHUNK_SIZE
            while remaining > 0:
                piece = min(remaining, 4 * CHUNK_SIZE)
                stream.write(b"\0" * piece)
                remaining -= piece
        refusals = []
        for _ in range(6):
            ack, error = _try_upload(instance, 2 * CHUNK_SIZE)
            if ack is not None:
                acknowledged.append(ack)
            else:
                refusals.append(error)
        summary["refusals"] = refusals
        summary["server_alive_when_full"] = instance.process is not None and (
            instance.process.poll() is None
        )
        filler.unlink()
        ack, error = _try_upload(instance, 2 * CHUNK_SIZE)
        summary["upload_after_freeing_space"] = "acknowledged" if ack else f"failed: {error}"
        if ack is not None:
            acknowledged.append(ack)
    finally:
        instance.stop()
    payload = {"uploads": [ack.__dict__ for ack in acknowledged], "intakes": []}
    checked = json.loads(
        instance.run_module("bench.faults.inspect_instance", "check", stdin=json.dumps(payload))
    )
    summary["uploads_acknowledged"] = len(acknowledged)
    summary["uploads_lost"] = len(checked["uploads_lost"])
    summary["partial_visible"] = checked["partial"]
    summary["staging_files_left"] = sorted(
        path.name for path in (instance.data_dir / "field-staging").glob("*")
    )
    return summary


if __name__ == "__main__":
    print(json.dumps(run(Path(sys.argv[1]))))
