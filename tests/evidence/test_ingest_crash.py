"""SIGKILL an ingesting process at random moments: what it acknowledged must survive intact."""

from __future__ import annotations

import io
import json
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

import pytest

from amparo.evidence.age import generate_identity
from amparo.evidence.blobstore import DirectoryBlobStore, IngestResult

REPOSITORY = Path(__file__).resolve().parents[2]
ROUNDS = 20


def ingest_forever(root: str, recipient: str, seed: int) -> None:
    """Child process: ingest files of assorted sizes, acknowledging each on stdout."""
    store = DirectoryBlobStore(Path(root), [recipient])
    generator = random.Random(seed)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    while True:
        size = generator.choice([0, 1, 65536, generator.randrange(1, 2 * 1024 * 1024)])
        result = store.ingest(io.BytesIO(generator.randbytes(size)))
        # One write per acknowledgement, so a kill never leaves half a line that parses.
        sys.stdout.write(json.dumps(asdict(result)) + "\n")
        sys.stdout.flush()


def start_child(root: Path, recipient: str, seed: int) -> subprocess.Popen[bytes]:
    code = (
        "import sys; from tests.evidence.test_ingest_crash import ingest_forever; "
        "ingest_forever(sys.argv[1], sys.argv[2], int(sys.argv[3]))"
    )
    environment = {**os.environ, "PYTHONPATH": str(REPOSITORY)}
    return subprocess.Popen(
        [sys.executable, "-c", code, str(root), recipient, str(seed)],
        stdout=subprocess.PIPE,
        cwd=REPOSITORY,
        env=environment,
    )


def acknowledged_in(output: bytes) -> list[IngestResult]:
    lines = output.split(b"\n")[:-1]  # whatever follows the last newline was cut short
    return [IngestResult(**json.loads(line)) for line in lines if line != b"ready"]


@pytest.mark.slow
def test_acknowledged_blobs_survive_sigkill(tmp_path: Path) -> None:
    identity, recipient = generate_identity()
    root = tmp_path / "store"
    generator = random.Random()
    acknowledged: dict[str, IngestResult] = {}
    verified: set[str] = set()
    rounds_killed_mid_ingest = 0
    for round_number in range(ROUNDS):
        child = start_child(root, recipient, generator.randrange(2**32))
        assert child.stdout is not None
        ready = child.stdout.readline()
        assert ready == b"ready\n", f"round {round_number}: child did not start"
        time.sleep(generator.uniform(0.0, 0.4))
        child.send_signal(signal.SIGKILL)
        output, _ = child.communicate(timeout=30)
        assert child.returncode == -signal.SIGKILL, "the child stopped before it was killed"
        for result in acknowledged_in(output):
            acknowledged[result.id] = result

        if any((root / "tmp").iterdir()):
            rounds_killed_mid_ingest += 1
        store = DirectoryBlobStore(root, [recipient], [identity])  # swept at start-up
        assert list((root / "tmp").iterdir()) == [], f"round {round_number}: partials remain"
        listed = set(store.ids())
        blob_files = {path.name.removesuffix(".age") for path in (root / "blobs").iterdir()}
        assert blob_files == listed, "a blob without a metadata record is still on disk"
        assert set(acknowledged) <= listed, "an acknowledged blob is missing"
        for blob_id in sorted(listed - verified):
            store.fixity(blob_id)
            if blob_id in acknowledged:
                assert store.metadata(blob_id) == acknowledged[blob_id]
            verified.add(blob_id)
    assert acknowledged, "no ingest finished in any round; the test proved nothing"
    assert rounds_killed_mid_ingest, "no kill landed during an ingest; the test proved nothing"
