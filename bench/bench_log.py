"""Benchmark the Merkle log: batched appends per second and proof latency at a million entries.

Run with ``.venv/bin/python -m bench.bench_log`` (``--entries`` for a smaller log). Prints a
Markdown snippet and writes it to ``bench/RESULTS_log.md``.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from amparo.evidence.merkle import MerkleLog, verify_consistency, verify_inclusion

ENTRY_SIZE = 200  # about the size of a custody event in canonical JSON
RESULTS = Path(__file__).with_name("RESULTS_log.md")
_sync = getattr(os, "fdatasync", os.fsync)


def batches(total: int, batch_size: int, seed: int) -> Iterator[list[bytes]]:
    """Yield distinct entries of ``ENTRY_SIZE`` bytes, ``batch_size`` at a time."""
    chooser = random.Random(seed)
    for start in range(0, total, batch_size):
        count = min(batch_size, total - start)
        padding = chooser.randbytes(ENTRY_SIZE - 8)
        yield [(start + i).to_bytes(8, "big") + padding for i in range(count)]


def time_appends(directory: Path, total: int, batch_size: int) -> tuple[float, float]:
    """Return entries per second for the log and for the baseline, measured side by side.

    The baseline hashes the same entries as leaves, writes them and their hashes to one file
    and flushes it once per batch. Batches alternate between the two, in alternating order,
    so both see the same disk and the same load; only the appends are timed.
    """
    log_seconds = baseline_seconds = 0.0
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
    baseline_fd = os.open(directory.with_name(directory.name + "-baseline"), flags, 0o600)
    try:
        with MerkleLog.open(directory) as log:
            for number, batch in enumerate(batches(total, batch_size, seed=1)):
                for which in (0, 1) if number % 2 else (1, 0):
                    started = time.perf_counter()
                    if which:
                        log.append_batch(batch)
                        log_seconds += time.perf_counter() - started
                    else:
                        hashes = [hashlib.sha256(b"\x00" + entry).digest() for entry in batch]
                        os.write(baseline_fd, b"".join(batch) + b"".join(hashes))
                        _sync(baseline_fd)
                        baseline_seconds += time.perf_counter() - started
    finally:
        os.close(baseline_fd)
    return total / log_seconds, total / baseline_seconds


def latencies_ms(
    calls: int, action: Callable[[random.Random], object]
) -> tuple[float, float, float, float]:
    """Return p50 and p99 of wall-clock and of CPU time, in ms, of random calls of ``action``."""
    chooser = random.Random(7)
    wall, cpu = [], []
    for _ in range(calls):
        started, started_cpu = time.perf_counter_ns(), time.thread_time_ns()
        action(chooser)
        cpu.append((time.thread_time_ns() - started_cpu) / 1e6)
        wall.append((time.perf_counter_ns() - started) / 1e6)
    wall_cuts, cpu_cuts = statistics.quantiles(wall, n=100), statistics.quantiles(cpu, n=100)
    return wall_cuts[49], wall_cuts[98], cpu_cuts[49], cpu_cuts[98]


def main() -> None:
    """Run the benchmark and write the Markdown results."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--proofs", type=int, default=2_000)
    arguments = parser.parse_args()
    total = arguments.entries

    load_before = os.getloadavg()[0]
    rows = []
    with tempfile.TemporaryDirectory(prefix="amparo-bench-") as scratch:
        root = Path(scratch)
        for batch_size in (100, 1_000):
            count = min(total, 200 * batch_size)
            rate, baseline = time_appends(root / f"log-{batch_size}", count, batch_size)
            rows.append((batch_size, count, rate, baseline))
        # The million-entry log is built in batches of 10,000 and measured as well.
        rate, baseline = time_appends(root / "log", total, 10_000)
        rows.append((10_000, total, rate, baseline))

        with MerkleLog.open(root / "log") as log:
            size = log.size
            current_root = log.root()

            def inclusion(chooser: random.Random) -> None:
                index = chooser.randrange(size)
                log.inclusion_proof(index, size)

            def inclusion_past(chooser: random.Random) -> None:
                tree = chooser.randrange(1, size + 1)
                log.inclusion_proof(chooser.randrange(tree), tree)

            def consistency(chooser: random.Random) -> None:
                size2 = chooser.randrange(1, size + 1)
                log.consistency_proof(chooser.randrange(1, size2 + 1), size2)

            def past_root(chooser: random.Random) -> None:
                log.root(chooser.randrange(size + 1))

            def verified_round_trip(chooser: random.Random) -> None:
                index = chooser.randrange(size)
                size1 = chooser.randrange(1, size)
                verify_inclusion(
                    log.leaf_hash_at(index),
                    index,
                    size,
                    log.inclusion_proof(index, size),
                    current_root,
                )
                verify_consistency(
                    size1, size, log.consistency_proof(size1, size), log.root(size1), current_root
                )

            calls = arguments.proofs
            timings = [
                ("inclusion proof, latest tree", latencies_ms(calls, inclusion)),
                ("inclusion proof, random past tree", latencies_ms(calls, inclusion_past)),
                ("consistency proof, random sizes", latencies_ms(calls, consistency)),
                ("root of a random past size", latencies_ms(calls, past_root)),
                (
                    "both proofs fetched and verified",
                    latencies_ms(calls // 4, verified_round_trip),
                ),
            ]

    lines = [
        "## Merkle log",
        "",
        f"`.venv/bin/python -m bench.bench_log --entries {total}` — Python "
        f"{platform.python_version()}, {os.cpu_count()} cores, entries of {ENTRY_SIZE} bytes, "
        "every batch flushed to disk before `append_batch` returns. Load average "
        f"{load_before:.1f} before the run and {os.getloadavg()[0]:.1f} after it: other work on "
        "the machine shows up in the tail latencies.",
        "",
        "| batch size | entries | log appends/s | baseline appends/s | log / baseline |",
        "| ---: | ---: | ---: | ---: | ---: |",
    ]
    for batch_size, count, rate, baseline in rows:
        ratio = rate / baseline
        lines.append(
            f"| {batch_size:,} | {count:,} | {rate:,.0f} | {baseline:,.0f} | {ratio:.2f} |"
        )
    lines += [
        "",
        "Baseline, measured batch by batch alternating with the log: the same entries, SHA-256 "
        "leaf hashing, one write and one flush per batch; no tree, no offsets, no committed "
        "size.",
        "",
        f"Proofs at {size:,} entries ({calls:,} random calls each):",
        "",
        "| operation | p50 ms | p99 ms | CPU p50 ms | CPU p99 ms |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, (p50, p99, cpu50, cpu99) in timings:
        lines.append(f"| {name} | {p50:.3f} | {p99:.3f} | {cpu50:.3f} | {cpu99:.3f} |")
    lines += [
        "",
        "p50/p99 are wall-clock; the CPU columns count only this thread's own time, which other "
        "processes on the machine cannot inflate.",
    ]
    snippet = "\n".join(lines) + "\n"
    sys.stdout.write(snippet)
    RESULTS.write_text(snippet)


if __name__ == "__main__":
    main()
