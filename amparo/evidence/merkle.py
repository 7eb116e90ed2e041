"""Merkle tree hashing and proofs as RFC 9162 §2.1 defines them, and the persistent log.

A tree over leaves ``d[0] .. d[n-1]`` has the root ``MTH(D[n])``:

- ``MTH({}) = SHA-256()`` (``EMPTY_ROOT``),
- ``MTH({d}) = SHA-256(0x00 || d)`` (``leaf_hash``),
- ``MTH(D[n]) = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n]))`` with ``k`` the largest power
  of two smaller than ``n`` (``node_hash``).

``verify_inclusion`` and ``verify_consistency`` follow the verification algorithms of RFC
9162 §2.1.3.2 and §2.1.4.2 step by step and raise ``ProofError`` naming the check that failed.
The ``*_from_leaf_hashes`` functions are small in-memory reference implementations of the
proof definitions (§2.1.3.1, §2.1.4.1); ``MerkleLog`` is the persistent, crash-safe log.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from pathlib import Path

from amparo.evidence.log_storage import LogCorruptError, LogStorage, hash_record_position

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "LogCorruptError",
    "MerkleLog",
    "ProofError",
    "consistency_proof_from_leaf_hashes",
    "consistency_proof_size",
    "inclusion_proof_from_leaf_hashes",
    "inclusion_proof_size",
    "leaf_hash",
    "node_hash",
    "root_from_leaf_hashes",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


class ProofError(ValueError):
    """A proof did not verify; the message names the check that failed."""


def leaf_hash(data: bytes) -> bytes:
    """Return the RFC 9162 leaf hash ``SHA-256(0x00 || data)``."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return the RFC 9162 interior node hash ``SHA-256(0x01 || left || right)``."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def largest_power_of_two_below(n: int) -> int:
    """Return the largest power of two strictly smaller than ``n`` (``n`` must be > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def inclusion_proof_size(index: int, size: int) -> int:
    """Return how many hashes an inclusion proof for ``index`` in a tree of ``size`` holds."""
    # Levels where the paths to index and to the last leaf diverge, plus the right border.
    inner = (index ^ (size - 1)).bit_length()
    return inner + (index >> inner).bit_count()


def consistency_proof_size(size1: int, size2: int) -> int:
    """Return how many hashes a consistency proof from ``size1`` to ``size2`` holds.

    Defined for ``0 < size1 < size2``; equal sizes and ``size1 == 0`` take an empty proof.
    """
    inner = ((size1 - 1) ^ (size2 - 1)).bit_length()
    border = ((size1 - 1) >> inner).bit_count()
    shared = (size1 & -size1).bit_length() - 1  # levels of size1's last complete subtree
    starts_with_old_root = size1 & (size1 - 1) == 0
    return (0 if starts_with_old_root else 1) + inner - shared + border


def _check_hash(value: bytes, what: str) -> None:
    if len(value) != HASH_SIZE:
        raise ProofError(f"{what} is {len(value)} bytes, a SHA-256 hash is {HASH_SIZE}")


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf_hash`` is leaf ``index`` (from 0) of the tree of ``size`` with ``root``.

    Follows RFC 9162 §2.1.3.2. Returns nothing on success and raises ``ProofError`` saying
    which check failed otherwise.
    """
    _check_hash(leaf_hash, "the leaf hash")
    _check_hash(root, "the root hash")
    if index < 0 or size < 0:
        raise ProofError(f"leaf index {index} and tree size {size} must not be negative")
    # Step 1: the leaf must lie inside the tree.
    if index >= size:
        raise ProofError(f"leaf index {index} is outside a tree of size {size}")
    expected = inclusion_proof_size(index, size)
    if len(proof) != expected:
        raise ProofError(
            f"inclusion proof has {len(proof)} hashes, "
            f"a tree of size {size} at index {index} needs {expected}"
        )
    for position, value in enumerate(proof):
        _check_hash(value, f"inclusion proof hash {position}")
    # Steps 2 and 3.
    fn, sn = index, size - 1
    r = leaf_hash
    # Step 4.
    for p in proof:
        if sn == 0:
            raise ProofError("inclusion proof is longer than the path to the root")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    # Step 5.
    if sn != 0:
        raise ProofError("inclusion proof is shorter than the path to the root")
    if r != root:
        raise ProofError(
            f"computed root does not match the given root for leaf {index} of a tree of size {size}"
        )


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """Check that the tree of ``size2`` with ``root2`` extends the tree of ``size1``/``root1``.

    Follows RFC 9162 §2.1.4.2 for ``0 < size1 < size2``. Equal sizes need an empty proof and
    equal roots; ``size1 == 0`` needs an empty proof and ``root1`` equal to ``EMPTY_ROOT``
    (the empty tree is a prefix of every tree). Raises ``ProofError`` naming the failed check.
    """
    _check_hash(root1, "the first root hash")
    _check_hash(root2, "the second root hash")
    for position, value in enumerate(proof):
        _check_hash(value, f"consistency proof hash {position}")
    if size1 < 0 or size2 < 0:
        raise ProofError(f"tree sizes {size1} and {size2} must not be negative")
    if size1 > size2:
        raise ProofError(f"first tree size {size1} is larger than second tree size {size2}")
    if size1 == size2:
        if proof:
            raise ProofError(
                f"consistency proof between two trees of size {size1} must be empty, "
                f"it has {len(proof)} hashes"
            )
        if root1 != root2:
            raise ProofError(f"roots of the two trees of size {size1} differ")
        return
    if size1 == 0:
        if proof:
            raise ProofError(
                f"consistency proof from the empty tree must be empty, it has {len(proof)} hashes"
            )
        if root1 != EMPTY_ROOT:
            raise ProofError("first root is not the empty tree's root SHA-256()")
        return
    # Step 1.
    if not proof:
        raise ProofError(f"consistency proof from size {size1} to {size2} is empty")
    expected = consistency_proof_size(size1, size2)
    if len(proof) != expected:
        raise ProofError(
            f"consistency proof has {len(proof)} hashes, "
            f"trees of sizes {size1} and {size2} need {expected}"
        )
    # Step 2.
    path = list(proof)
    if size1 & (size1 - 1) == 0:
        path.insert(0, root1)
    # Step 3.
    fn, sn = size1 - 1, size2 - 1
    # Step 4.
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # Step 5.
    fr = sr = path[0]
    # Step 6.
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is longer than the path to the second root")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    # Step 7.
    if sn != 0:
        raise ProofError("consistency proof is shorter than the path to the second root")
    if fr != root1:
        raise ProofError(f"computed root of the first tree (size {size1}) does not match root1")
    if sr != root2:
        raise ProofError(f"computed root of the second tree (size {size2}) does not match root2")


def root_from_leaf_hashes(hashes: Sequence[bytes]) -> bytes:
    """Return ``MTH`` of the tree whose leaves have these leaf hashes (reference, in memory)."""
    if not hashes:
        return EMPTY_ROOT
    # Pairing level by level and carrying an odd last node upwards builds the same
    # left-balanced tree as the RFC's recursive split.
    level = list(hashes)
    while len(level) > 1:
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def _check_range(size: int, available: int) -> None:
    if not 0 <= size <= available:
        raise ValueError(f"tree size {size} is outside 0..{available}, the leaves given")


def inclusion_proof_from_leaf_hashes(hashes: Sequence[bytes], index: int, size: int) -> list[bytes]:
    """Return ``PATH(index, D[0:size])`` of RFC 9162 §2.1.3.1 (reference, in memory)."""
    _check_range(size, len(hashes))
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is outside a tree of size {size}")
    return _path(index, hashes[:size])


def _path(m: int, leaves: Sequence[bytes]) -> list[bytes]:
    n = len(leaves)
    if n == 1:
        return []
    k = largest_power_of_two_below(n)
    if m < k:
        return [*_path(m, leaves[:k]), root_from_leaf_hashes(leaves[k:])]
    return [*_path(m - k, leaves[k:]), root_from_leaf_hashes(leaves[:k])]


def consistency_proof_from_leaf_hashes(
    hashes: Sequence[bytes], size1: int, size2: int
) -> list[bytes]:
    """Return ``PROOF(size1, D[0:size2])`` of RFC 9162 §2.1.4.1 (reference, in memory).

    Equal sizes and ``size1 == 0`` give the empty proof.
    """
    _check_range(size2, len(hashes))
    if not 0 <= size1 <= size2:
        raise ValueError(f"first tree size {size1} is outside 0..{size2}")
    if size1 in (0, size2):
        return []
    return _subproof(size1, hashes[:size2], complete=True)


def _subproof(m: int, leaves: Sequence[bytes], *, complete: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if complete else [root_from_leaf_hashes(leaves)]
    k = largest_power_of_two_below(n)
    if m <= k:
        return [*_subproof(m, leaves[:k], complete=complete), root_from_leaf_hashes(leaves[k:])]
    return [
        *_subproof(m - k, leaves[k:], complete=False),
        root_from_leaf_hashes(leaves[:k]),
    ]


class MerkleLog:
    """An append-only Merkle log kept in a directory, durable and crash-safe.

    Open it with ``MerkleLog.open(directory)``. ``append`` and ``append_batch`` return only
    after the entries, their hashes and the new size are flushed to disk, so every index they
    return survives a crash. Appends are serialised within a process by a ``threading.Lock``
    and across processes by an exclusive ``flock`` on the directory's ``lock`` file, so any
    number of threads and processes may append to one directory. Reads take no lock: records
    below the committed size never change. Open a log after ``fork``, not before: a child
    would share the parent's lock. The file layout and the write ordering are described in
    ``amparo.evidence.log_storage``.
    """

    def __init__(self, storage: LogStorage) -> None:
        self._storage = storage
        self._lock = threading.Lock()
        # Roots of the complete subtrees that make up the current size, largest first.
        self._frontier: list[bytes] = []

    @classmethod
    def open(cls, directory: Path) -> MerkleLog:
        """Open the log in ``directory``, creating it if missing and dropping any torn tail.

        Raises ``LogCorruptError`` naming the file if the files hold less than was committed.
        """
        storage = LogStorage(Path(directory))
        try:
            with storage.exclusive():
                storage.repair()
            log = cls(storage)
            log._load_frontier()
            if storage.size:
                last = storage.size - 1
                if leaf_hash(storage.read_entry(last)) != log.leaf_hash_at(last):
                    raise LogCorruptError(
                        f"{storage.path('entries')}: entry {last} does not match its leaf hash "
                        f"in {storage.path('hashes')}"
                    )
        except BaseException:
            storage.close()
            raise
        return log

    def close(self) -> None:
        """Close the log's files; other threads must be done reading by then."""
        with self._lock:
            self._storage.close()

    def __enter__(self) -> MerkleLog:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def directory(self) -> Path:
        """The directory holding the log."""
        return self._storage.directory

    @property
    def size(self) -> int:
        """The committed number of entries, including appends by other processes."""
        with self._lock:
            self._refresh()
            return self._storage.size

    def append(self, entry: bytes) -> int:
        """Append one entry; return its index once it is durable on disk."""
        return self.append_batch([entry])[0]

    def append_batch(self, entries: Sequence[bytes]) -> list[int]:
        """Append entries in order with one flush; return their indexes once durable."""
        if not entries:
            return []
        with self._lock, self._storage.exclusive():
            self._refresh()
            start = self._storage.size
            sha256 = hashlib.sha256
            leaves = [sha256(_LEAF_PREFIX + entry).digest() for entry in entries]
            frontier = list(self._frontier)
            records: list[bytes] = []
            record, pop, push = records.append, frontier.pop, frontier.append
            size = start
            for digest in leaves:
                record(digest)
                # Each trailing one bit of the old size is a subtree this leaf completes.
                carry = size
                while carry & 1:
                    digest = sha256(_NODE_PREFIX + pop() + digest).digest()
                    record(digest)
                    carry >>= 1
                push(digest)
                size += 1
            new_end = self._storage.write_tail(entries, b"".join(records))
            self._storage.commit(size)
            self._storage.entries_end = new_end
            self._frontier = frontier
        return list(range(start, size))

    def root(self, size: int | None = None) -> bytes:
        """Return the root of the tree of the first ``size`` entries (default: all of them)."""
        with self._lock:
            self._refresh()
            current = self._storage.size
            if size is None or size == current:
                return self._fold(self._frontier)
        self._check_size(size, current)
        return self._subtree_hash(0, size) if size else EMPTY_ROOT

    def leaf_hash_at(self, index: int) -> bytes:
        """Return the stored leaf hash of entry ``index``."""
        self._check_index(index)
        return self._storage.read_hash(hash_record_position(0, index))

    def entry(self, index: int) -> bytes:
        """Return the exact bytes appended as entry ``index``."""
        self._check_index(index)
        return self._storage.read_entry(index)

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        """Return the RFC 9162 inclusion proof of entry ``index`` in the tree of ``size``."""
        self._check_size(size, self._known_size(size))
        if not 0 <= index < size:
            raise ValueError(f"leaf index {index} is outside a tree of size {size}")
        path = []
        low, high = 0, size
        while high - low > 1:
            split = low + largest_power_of_two_below(high - low)
            if index < split:
                path.append(self._subtree_hash(split, high))
                high = split
            else:
                path.append(self._subtree_hash(low, split))
                low = split
        path.reverse()
        return path

    def consistency_proof(self, size1: int, size2: int) -> list[bytes]:
        """Return the RFC 9162 consistency proof from the tree of ``size1`` to ``size2``."""
        self._check_size(size2, self._known_size(size2))
        if not 0 <= size1 <= size2:
            raise ValueError(f"first tree size {size1} is outside 0..{size2}")
        if size1 in (0, size2):
            return []
        path = []
        low, high, remaining, complete = 0, size2, size1, True
        while remaining != high - low:
            split = largest_power_of_two_below(high - low)
            if remaining <= split:
                path.append(self._subtree_hash(low + split, high))
                high = low + split
            else:
                path.append(self._subtree_hash(low, low + split))
                low += split
                remaining -= split
                complete = False
        if not complete:
            path.append(self._subtree_hash(low, high))
        path.reverse()
        return path

    def _refresh(self) -> None:
        if self._storage.closed:
            raise ValueError(f"the Merkle log in {self._storage.directory} is closed")
        if self._storage.refresh():
            self._load_frontier()

    def _load_frontier(self) -> None:
        frontier = []
        size, start = self._storage.size, 0
        for level in range(size.bit_length() - 1, -1, -1):
            if size >> level & 1:
                frontier.append(
                    self._storage.read_hash(hash_record_position(level, start >> level))
                )
                start += 1 << level
        self._frontier = frontier

    def _known_size(self, wanted: int) -> int:
        if wanted > self._storage.size:
            with self._lock:
                self._refresh()
        return self._storage.size

    def _check_size(self, size: int, current: int) -> None:
        if not 0 <= size <= current:
            raise ValueError(f"tree size {size} is outside 0..{current}, the log's size")

    def _check_index(self, index: int) -> None:
        current = self._known_size(index + 1)
        if not 0 <= index < current:
            raise IndexError(f"entry {index} is outside the log of {current} entries")

    @staticmethod
    def _fold(frontier: Sequence[bytes]) -> bytes:
        if not frontier:
            return EMPTY_ROOT
        root = frontier[-1]
        for left in reversed(frontier[:-1]):
            root = node_hash(left, root)
        return root

    def _subtree_hash(self, start: int, end: int) -> bytes:
        """Return MTH of leaves ``start..end``; ``start`` is aligned to the subtree's width."""
        width = end - start
        if width & (width - 1) == 0:
            level = width.bit_length() - 1
            return self._storage.read_hash(hash_record_position(level, start >> level))
        split = start + largest_power_of_two_below(width)
        return node_hash(self._subtree_hash(start, split), self._subtree_hash(split, end))
