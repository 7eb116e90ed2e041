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
from collections.abc import Sequence

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
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
