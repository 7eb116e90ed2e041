"""Receipts: offline proofs that an entry is in the log (c2sp.org/tlog-proof@v1).

A receipt is text::

    c2sp.org/tlog-proof@v1
    extra <base64>            (optional, NOT authenticated)
    index <entry index>
    <base64 inclusion proof hash, one per line, from the leaf's sibling up>

    <the signed, possibly cosigned, checkpoint note>

Anyone holding the log's verifier key (and the witnesses' keys) can check a receipt without a
network: the checkpoint's signatures, then the inclusion of the entry's leaf hash.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from dataclasses import dataclass

from amparo.evidence import merkle, note
from amparo.evidence.checkpoint import MAX_TREE_SIZE, Checkpoint, CheckpointError
from amparo.evidence.witness import QuorumError, verify_cosigned

HEADER = "c2sp.org/tlog-proof@v1"
FILE_SUFFIX = ".tlog-proof"
_DECIMAL = re.compile(r"0|[1-9][0-9]*")


class ReceiptError(ValueError):
    """A receipt does not prove what it claims; subclasses say which check failed."""


class MalformedReceiptError(ReceiptError):
    """The receipt is not in the c2sp.org/tlog-proof@v1 format."""


class ReceiptCheckpointError(ReceiptError):
    """The receipt's checkpoint is not signed by the log or lacks the witness quorum."""


class ReceiptQuorumError(ReceiptCheckpointError):
    """Too few known witnesses cosigned the receipt's checkpoint."""


class ReceiptInclusionError(ReceiptError):
    """The inclusion proof does not place the entry in the checkpoint's tree."""


@dataclass(frozen=True)
class Receipt:
    """A parsed receipt: entry index, inclusion proof, checkpoint note and unauthenticated extra."""

    index: int
    proof: tuple[bytes, ...]
    checkpoint_note: str
    extra: bytes | None = None

    def checkpoint(self) -> Checkpoint:
        """The checkpoint in the note, parsed but not verified."""
        return Checkpoint.parse(note.parse_note(self.checkpoint_note)[0])


def _check_checkpoint_note(checkpoint_note: str, source: str) -> None:
    try:
        text, _ = note.parse_note(checkpoint_note)
        Checkpoint.parse(text)
    except (note.NoteError, CheckpointError) as exc:
        raise MalformedReceiptError(f"{source}: the checkpoint is not valid: {exc}") from exc


def format_receipt(
    index: int,
    proof: Sequence[bytes],
    checkpoint_note: str,
    extra: bytes | None = None,
) -> str:
    """Write a receipt for the entry at `index` with its inclusion proof and checkpoint note."""
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index <= MAX_TREE_SIZE:
        raise MalformedReceiptError(f"receipt index {index!r} must be an integer in 0..2^64-1")
    for position, value in enumerate(proof):
        if len(value) != merkle.HASH_SIZE:
            raise MalformedReceiptError(
                f"receipt proof hash {position} is {len(value)} bytes, not {merkle.HASH_SIZE}"
            )
    _check_checkpoint_note(checkpoint_note, "receipt")
    lines = [HEADER]
    if extra is not None:
        lines.append("extra " + base64.b64encode(extra).decode("ascii"))
    lines.append(f"index {index}")
    lines.extend(base64.b64encode(value).decode("ascii") for value in proof)
    return "\n".join(lines) + "\n\n" + checkpoint_note


def parse_receipt(text: str, *, source: str = "receipt") -> Receipt:
    """Parse a receipt without verifying it; `source` (such as a file name) prefixes errors."""
    if not isinstance(text, str):
        raise MalformedReceiptError(f"{source}: expected text, not {type(text).__name__}")
    head, separator, checkpoint_note = text.partition("\n\n")
    if not separator:
        raise MalformedReceiptError(f"{source}: no blank line before the checkpoint")
    lines = head.split("\n")
    if lines[0] != HEADER:
        raise MalformedReceiptError(f"{source}: first line is {lines[0][:40]!r}, not {HEADER}")
    position = 1
    extra = None
    if position < len(lines) and lines[position].startswith("extra "):
        try:
            extra = note.decode_base64_strictly(lines[position][len("extra ") :])
        except ValueError as exc:
            raise MalformedReceiptError(f"{source}: extra line: {exc}") from exc
        position += 1
    if position >= len(lines) or not lines[position].startswith("index "):
        raise MalformedReceiptError(f"{source}: line {position + 1} must be 'index <number>'")
    index_text = lines[position][len("index ") :]
    if not _DECIMAL.fullmatch(index_text) or int(index_text) > MAX_TREE_SIZE:
        raise MalformedReceiptError(
            f"{source}: index {index_text!r} is not a decimal in 0..2^64-1 without leading zeros"
        )
    proof = []
    for number, line in enumerate(lines[position + 1 :], start=position + 2):
        try:
            value = note.decode_base64_strictly(line)
        except ValueError as exc:
            raise MalformedReceiptError(f"{source}: proof line {number}: {exc}") from exc
        if len(value) != merkle.HASH_SIZE:
            raise MalformedReceiptError(
                f"{source}: proof line {number} holds {len(value)} bytes, not {merkle.HASH_SIZE}"
            )
        proof.append(value)
    _check_checkpoint_note(checkpoint_note, source)
    return Receipt(int(index_text), tuple(proof), checkpoint_note, extra)


def verify_receipt(
    text: str,
    entry: bytes,
    log_vkey: str,
    witness_vkeys: Sequence[str] = (),
    quorum: int = 0,
    *,
    source: str = "receipt",
    origin: str | None = None,
) -> Checkpoint:
    """Check that `entry` is in the log, as the receipt claims; returns the verified checkpoint.

    Verifies the log's signature on the checkpoint, that the checkpoint's origin is `origin`
    (by default the log key's name, as Amparo names its logs), at least `quorum` cosignatures
    by the given witnesses, then the inclusion of leaf_hash(entry) at the receipt's index. The
    extra line is not authenticated and plays no part. Raises a ReceiptError subclass naming
    the failed check.
    """
    receipt = parse_receipt(text, source=source)
    try:
        checkpoint = verify_cosigned(receipt.checkpoint_note, log_vkey, witness_vkeys, quorum)
        expected_origin = note.parse_verifier_key(log_vkey).name if origin is None else origin
    except QuorumError as exc:
        raise ReceiptQuorumError(f"{source}: checkpoint cosignatures: {exc}") from exc
    except note.NoteError as exc:
        raise ReceiptCheckpointError(f"{source}: checkpoint signature: {exc}") from exc
    if checkpoint.origin != expected_origin:
        raise ReceiptCheckpointError(
            f"{source}: the checkpoint is for the log {checkpoint.origin!r}, "
            f"not {expected_origin!r}"
        )
    try:
        merkle.verify_inclusion(
            merkle.leaf_hash(entry),
            receipt.index,
            checkpoint.size,
            receipt.proof,
            checkpoint.root_hash,
        )
    except merkle.ProofError as exc:
        raise ReceiptInclusionError(
            f"{source}: inclusion of the entry at index {receipt.index} in the tree of size "
            f"{checkpoint.size}: {exc}"
        ) from exc
    return checkpoint
