"""The files behind a ``MerkleLog``: append-only records and a committed size.

A log directory holds five files:

``entries``
    every entry's bytes, one after another.
``offsets``
    for entry ``i``, the big-endian 8-byte offset in ``entries`` where it ends.
``hashes``
    32-byte hashes of every leaf and every complete subtree in post-order, the order in which
    an append-only tree completes them: leaf 0, leaf 1, node(0..2), leaf 2, leaf 3,
    node(2..4), node(0..4), ... Leaf ``i`` is record ``2i - popcount(i)``; a tree of ``n``
    leaves has ``2n - popcount(n)`` records. Any proof or past root needs O(log n) of them.
``committed``
    the committed size: two checksummed slots, written alternately.
``lock``
    held with ``flock`` while a process appends or repairs the tail.

Crash safety rests on one ordering. An append writes its entries, offsets and hashes past the
committed size and flushes all three to disk; only then does it write the new size into the
slot not holding the current one and flush that. A crash before the size is flushed leaves
the old size in force; the bytes beyond it are a torn tail, ignored by readers and cut off on
the next open. A torn size slot fails its checksum, so the other slot, the previous size,
stands. Nothing below the committed size is ever rewritten, so readers take no lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import struct
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from itertools import accumulate
from pathlib import Path

HASH_RECORD = 32
OFFSET_RECORD = 8

_SLOT = struct.Struct(">8sQQ")
_SLOT_MAGIC = b"AMPLOG1\n"
_SLOT_SIZE = _SLOT.size + 32  # fields, then SHA-256 of the fields
_SLOT_POSITIONS = (0, 4096)  # separate pages, so a torn write touches one slot only


class LogCorruptError(Exception):
    """A log file is shorter than its committed size says, or a checksum failed."""


def hash_record_count(size: int) -> int:
    """Return how many hash records a tree of ``size`` leaves stores."""
    return 2 * size - size.bit_count()


def hash_record_position(level: int, index: int) -> int:
    """Return the record number of the complete subtree of ``2**level`` leaves at ``index``."""
    last_leaf = ((index + 1) << level) - 1
    return hash_record_count(last_leaf) + level


_sync = getattr(os, "fdatasync", os.fsync)


class LogStorage:
    """Raw, crash-safe access to a log directory; the Merkle arithmetic lives in ``merkle``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        created = not (directory / "committed").exists()
        new_directory = not directory.exists()
        directory.mkdir(parents=True, exist_ok=True)
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
        self._fds: dict[str, int] = {}
        self._flusher: ThreadPoolExecutor | None = None
        try:
            for name in ("entries", "offsets", "hashes", "committed", "lock"):
                self._fds[name] = os.open(directory / name, flags, 0o600)
        except OSError:
            self.close()
            raise
        # New directory entries must survive a crash along with their contents.
        if created:
            _sync_directory(directory)
        if new_directory:
            _sync_directory(directory.parent)
        self.sequence = 0
        self.size = 0
        self.entries_end = 0

    def path(self, name: str) -> Path:
        """Return the path of one of the log's files, for messages."""
        return self.directory / name

    def close(self) -> None:
        """Close every file; safe to call twice."""
        if self._flusher is not None:
            self._flusher.shutdown()
            self._flusher = None
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()

    @property
    def closed(self) -> bool:
        """Whether ``close`` has run."""
        return not self._fds

    def _fd(self, name: str) -> int:
        try:
            return self._fds[name]
        except KeyError:
            raise ValueError(f"the Merkle log in {self.directory} is closed") from None

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the directory's lock file against other processes appending or repairing."""
        fd = self._fd("lock")
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def read_commit(self) -> tuple[int, int]:
        """Return ``(sequence, size)`` of the newest intact commit slot."""
        fd = self._fd("committed")
        best: tuple[int, int] | None = None
        torn = 0
        for position in _SLOT_POSITIONS:
            raw = os.pread(fd, _SLOT_SIZE, position)
            if not raw.strip(b"\x00"):
                continue  # never written
            fields, checksum = raw[: _SLOT.size], raw[_SLOT.size :]
            magic, sequence, size = (
                _SLOT.unpack(fields) if len(fields) == _SLOT.size else (b"", 0, 0)
            )
            if magic != _SLOT_MAGIC or hashlib.sha256(fields).digest() != checksum:
                torn += 1
                continue
            if best is None or sequence > best[0]:
                best = (sequence, size)
        if best is None:
            # Slots are written alternately, so only the one being written can be torn.
            if torn > 1:
                raise LogCorruptError(
                    f"{self.path('committed')}: neither commit slot passes its checksum; "
                    "refusing to guess the log's size"
                )
            return (0, 0)
        return best

    def refresh(self) -> bool:
        """Load the committed size; return whether it changed since the last load."""
        sequence, size = self.read_commit()
        if (sequence, size) == (self.sequence, self.size):
            return False
        self.sequence, self.size = sequence, size
        self.entries_end = self.entry_bounds(size - 1)[1] if size else 0
        return True

    def repair(self) -> None:
        """Check every file reaches the committed size and cut off any torn tail beyond it.

        Call while holding ``exclusive``: another process's unfinished append is such a tail.
        """
        self.refresh()
        expected = {
            "offsets": self.size * OFFSET_RECORD,
            "hashes": hash_record_count(self.size) * HASH_RECORD,
            "entries": self.entries_end,
        }
        for name, length in expected.items():
            fd = self._fd(name)
            actual = os.fstat(fd).st_size
            if actual < length:
                raise LogCorruptError(
                    f"{self.path(name)}: {actual} bytes, but the committed size "
                    f"{self.size} needs {length}"
                )
            if actual > length:
                os.ftruncate(fd, length)

    def commit(self, size: int) -> None:
        """Make ``size`` the committed size; call only after ``write_tail`` has returned."""
        sequence = self.sequence + 1
        fields = _SLOT.pack(_SLOT_MAGIC, sequence, size)
        slot = fields + hashlib.sha256(fields).digest()
        fd = self._fd("committed")
        os.pwrite(fd, slot, _SLOT_POSITIONS[sequence % 2])
        _sync(fd)
        self.sequence, self.size = sequence, size

    def write_tail(self, entries: Sequence[bytes], hashes: bytes) -> int:
        """Write entries and their hash records past the committed size and flush them.

        Returns the new end of the entries file. The size is not committed yet.
        """
        data = b"".join(entries)
        ends = accumulate((len(entry) for entry in entries), initial=self.entries_end)
        next(ends)  # the first value is the old end
        offsets = struct.pack(f">{len(entries)}Q", *ends)
        tail = (
            ("entries", data, self.entries_end),
            ("offsets", offsets, self.size * OFFSET_RECORD),
            ("hashes", hashes, hash_record_count(self.size) * HASH_RECORD),
        )
        for name, payload, position in tail:
            _write_all(self._fd(name), payload, position)
        # Flushing the three files at once lets the file system commit them together.
        fds = [self._fd(name) for name, _, _ in tail]
        if self._flusher is None:
            self._flusher = ThreadPoolExecutor(len(fds), thread_name_prefix="merkle-log-flush")
        list(self._flusher.map(_sync, fds))
        return self.entries_end + len(data)

    def read_hash(self, record: int) -> bytes:
        """Return hash record number ``record``."""
        raw = os.pread(self._fd("hashes"), HASH_RECORD, record * HASH_RECORD)
        if len(raw) != HASH_RECORD:
            raise LogCorruptError(f"{self.path('hashes')}: record {record} is missing")
        return raw

    def entry_bounds(self, index: int) -> tuple[int, int]:
        """Return where entry ``index`` starts and ends in the entries file."""
        if index == 0:
            raw = b"\x00" * OFFSET_RECORD + os.pread(self._fd("offsets"), OFFSET_RECORD, 0)
        else:
            raw = os.pread(self._fd("offsets"), 2 * OFFSET_RECORD, (index - 1) * OFFSET_RECORD)
        if len(raw) != 2 * OFFSET_RECORD:
            raise LogCorruptError(f"{self.path('offsets')}: the offset of entry {index} is missing")
        start, end = struct.unpack(">QQ", raw)
        if start > end:
            raise LogCorruptError(
                f"{self.path('offsets')}: entry {index} ends at {end}, before it starts at {start}"
            )
        return start, end

    def read_entry(self, index: int) -> bytes:
        """Return the bytes of entry ``index``."""
        start, end = self.entry_bounds(index)
        data = os.pread(self._fd("entries"), end - start, start)
        if len(data) != end - start:
            raise LogCorruptError(f"{self.path('entries')}: entry {index} is cut short")
        return data


def _sync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_all(fd: int, payload: bytes, position: int) -> None:
    view = memoryview(payload)
    while view:
        written = os.pwrite(fd, view, position)
        view = view[written:]
        position += written
