"""SIGKILL a process in the middle of appending; every acknowledged entry must survive."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from amparo.evidence.merkle import (
    HASH_SIZE,
    MerkleLog,
    leaf_hash,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)

REPOSITORY = Path(__file__).resolve().parents[2]
ROUNDS = 20


# The child imports only the evidence core, so it starts quickly. It appends batches of
# varied sizes forever and reports "index sha256-of-entry" for each append that returned.
CHILD = """
import hashlib, random, sys
from pathlib import Path
from amparo.evidence.merkle import MerkleLog

chooser = random.Random(int(sys.argv[2]))
sequence = 0
with MerkleLog.open(Path(sys.argv[1])) as log:
    sys.stdout.write("ready\\n")
    sys.stdout.flush()
    while True:
        count = chooser.choice((1, 1, 7, 64, 500))
        batch = [
            f"round {sys.argv[2]} entry {sequence + i}:".encode() + b"x" * ((sequence + i) % 900)
            for i in range(count)
        ]
        indexes = log.append_batch(batch)
        sys.stdout.write("".join(
            f"{index} {hashlib.sha256(entry).hexdigest()}\\n"
            for index, entry in zip(indexes, batch)
        ))
        sys.stdout.flush()
        sequence += count
"""


def _start_child(directory: Path, round_number: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(directory), str(round_number)],
        cwd=REPOSITORY,
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPOSITORY)},
    )


def _collect(child: subprocess.Popen[bytes], lines: list[bytes], ready: threading.Event) -> None:
    assert child.stdout is not None
    for line in child.stdout:
        if line == b"ready\n":
            ready.set()
        elif line.endswith(b"\n"):
            lines.append(line)


@pytest.mark.slow
def test_sigkill_at_random_moments_keeps_every_acknowledged_entry(tmp_path):
    directory = tmp_path / "log"
    chooser = random.Random(2024)
    acknowledged: dict[int, str] = {}
    previous_size, previous_root = 0, root_from_leaf_hashes([])
    rounds_with_torn_tail = 0

    for round_number in range(ROUNDS):
        child = _start_child(directory, round_number)
        lines: list[bytes] = []
        ready = threading.Event()
        reader = threading.Thread(target=_collect, args=(child, lines, ready))
        reader.start()
        assert ready.wait(timeout=20), "the appending child never opened the log"
        time.sleep(chooser.uniform(0.001, 0.08))
        child.send_signal(signal.SIGKILL)
        child.wait()
        reader.join()
        assert child.stdout is not None
        child.stdout.close()
        assert child.returncode == -signal.SIGKILL

        for line in lines:
            index_text, digest = line.decode().split()
            index = int(index_text)
            assert index not in acknowledged, f"index {index} was handed out twice"
            acknowledged[index] = digest

        length_before_open = (directory / "hashes").stat().st_size
        with MerkleLog.open(directory) as log:
            size = log.size
            assert size >= max(acknowledged, default=-1) + 1
            entries = [log.entry(i) for i in range(size)]
            for index, digest in acknowledged.items():
                assert hashlib.sha256(entries[index]).hexdigest() == digest, (
                    f"acknowledged entry {index} was lost"
                )
            hashes = [leaf_hash(entry) for entry in entries]
            root = log.root()
            assert root == root_from_leaf_hashes(hashes)
            # The torn tail is gone: files end exactly at the committed size.
            if length_before_open > HASH_SIZE * (2 * size - size.bit_count()):
                rounds_with_torn_tail += 1
            assert (directory / "offsets").stat().st_size == 8 * size
            assert (directory / "hashes").stat().st_size == HASH_SIZE * (
                2 * size - size.bit_count()
            )
            # What survives extends what survived before: never rewritten, only appended.
            proof = log.consistency_proof(previous_size, size)
            verify_consistency(previous_size, size, proof, previous_root, root)
            for index in chooser.sample(sorted(acknowledged), min(5, len(acknowledged))):
                proof = log.inclusion_proof(index, size)
                verify_inclusion(hashes[index], index, size, proof, root)
            previous_size, previous_root = size, root

    assert len(acknowledged) > ROUNDS, "the children acknowledged too little to test anything"
    # Appends spend most of their time flushing, so most kills land inside one.
    assert rounds_with_torn_tail > 0, "no kill landed inside an append"
