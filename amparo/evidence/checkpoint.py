"""Log checkpoints (c2sp.org/tlog-checkpoint) and the signer that never signs two inconsistent ones.

A checkpoint is the text of a signed note::

    <origin>
    <tree size, decimal>
    <root hash, base64>
    [extension lines]

`CheckpointSigner` remembers the last checkpoint it signed in a state file (the signed note
itself, so a person can read it) and refuses to sign anything that does not extend it.
"""

from __future__ import annotations

import base64
import fcntl
import os
import re
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from amparo.evidence import merkle, note

MAX_TREE_SIZE = 2**64 - 1
_DECIMAL = re.compile(r"0|[1-9][0-9]*")


class CheckpointError(ValueError):
    """A checkpoint is malformed, or signing it would break the log's append-only promise."""


def _check_line(what: str, value: str) -> None:
    if not value:
        raise CheckpointError(f"checkpoint {what} is empty")
    for char in value:
        if ord(char) < 0x20:
            raise CheckpointError(f"checkpoint {what} holds control character U+{ord(char):04X}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise CheckpointError(f"checkpoint {what} is not valid UTF-8") from exc


@dataclass(frozen=True)
class Checkpoint:
    """A log's tree head: origin, tree size, root hash and optional extension lines."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_line("origin", self.origin)
        if isinstance(self.size, bool) or not isinstance(self.size, int):
            raise CheckpointError(f"checkpoint tree size must be an integer, not {self.size!r}")
        if not 0 <= self.size <= MAX_TREE_SIZE:
            raise CheckpointError(f"checkpoint tree size {self.size} is outside 0..2^64-1")
        if not isinstance(self.root_hash, bytes) or len(self.root_hash) != merkle.HASH_SIZE:
            raise CheckpointError(
                f"checkpoint root hash must be {merkle.HASH_SIZE} bytes, got {len(self.root_hash)}"
            )
        for number, line in enumerate(self.extensions, start=1):
            _check_line(f"extension line {number}", line)

    def to_text(self) -> str:
        """The note text: origin, size, base64 root, then extension lines, each ending in \\n."""
        lines = [self.origin, str(self.size), base64.b64encode(self.root_hash).decode("ascii")]
        return "\n".join([*lines, *self.extensions]) + "\n"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Parse checkpoint note text, refusing anything tlog-checkpoint does not allow."""
        if not isinstance(text, str) or not text.endswith("\n"):
            raise CheckpointError("checkpoint text must end in a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise CheckpointError(
                f"checkpoint has {len(lines)} lines; it needs origin, tree size and root hash"
            )
        origin, size_text, root_text, *extensions = lines
        if not _DECIMAL.fullmatch(size_text):
            raise CheckpointError(
                f"checkpoint tree size {size_text!r} is not a decimal without leading zeros"
            )
        try:
            root_hash = note.decode_base64_strictly(root_text)
        except ValueError as exc:
            raise CheckpointError(f"checkpoint root hash {root_text!r}: {exc}") from exc
        return cls(origin, int(size_text), root_hash, tuple(extensions))


def open_checkpoint(signed_note: str, log_vkey: str | note.Verifier) -> Checkpoint:
    """Verify a signed checkpoint against the log's key and parse it.

    Raises NoteError (or its subclasses) if the signature does not verify and CheckpointError
    if the text is not a checkpoint.
    """
    opened = note.open_note(signed_note, [log_vkey])
    return Checkpoint.parse(opened.text)


def write_text_atomically(path: Path, text: str) -> None:
    """Replace `path` with `text` so that a crash leaves either the old or the new content.

    Writes a temporary file in the same directory, fsyncs it, renames it over `path` and
    fsyncs the directory so the rename itself is durable.
    """
    directory = path.parent
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    directory_handle = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(directory_handle)
    finally:
        os.close(directory_handle)


@contextmanager
def exclusive_lock(lock_file: Path) -> Iterator[None]:
    """Hold an advisory lock on `lock_file` so two processes never update one state at once."""
    with lock_file.open("a") as stream:
        fcntl.flock(stream.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(stream.fileno(), fcntl.LOCK_UN)


class CheckpointSigner:
    """Signs a log's checkpoints, each one a consistent extension of the last.

    The state file holds the last signed checkpoint note. If it is missing the signer starts
    afresh, so it belongs on durable storage and in backups; if it is present but unreadable or
    not signed by this key, the signer refuses to sign rather than guess.
    """

    def __init__(self, state_file: Path, origin: str, skey: str) -> None:
        self.state_file = Path(state_file)
        self.origin = origin
        self._skey = skey
        signer = note.parse_signer_key(skey)
        if signer.alg != note.ALG_ED25519:
            raise CheckpointError(
                f"log key {signer.name!r} must be an Ed25519 (type 0x01) key, "
                f"not type 0x{signer.alg:02x}"
            )
        self._verifier = signer.verifier()
        Checkpoint(origin, 0, merkle.EMPTY_ROOT)  # refuses an unusable origin now, not later

    @property
    def vkey(self) -> str:
        """The verifier key that checks this signer's checkpoints."""
        return str(self._verifier)

    def _lock_file(self) -> Path:
        return self.state_file.with_name(self.state_file.name + ".lock")

    def _read_state(self) -> tuple[str, Checkpoint] | None:
        try:
            signed = self.state_file.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            raise CheckpointError(
                f"{self.state_file}: cannot read the last checkpoint: {exc}"
            ) from exc
        try:
            last = open_checkpoint(signed, self._verifier)
        except (note.NoteError, CheckpointError) as exc:
            raise CheckpointError(
                f"{self.state_file}: the last checkpoint does not verify with {self.vkey}: {exc}"
            ) from exc
        if last.origin != self.origin:
            raise CheckpointError(
                f"{self.state_file}: the last checkpoint is for origin {last.origin!r}, "
                f"not {self.origin!r}"
            )
        return signed, last

    def last_signed(self) -> str | None:
        """The last checkpoint note this signer signed, or None if it has signed none."""
        state = self._read_state()
        return None if state is None else state[0]

    def sign(self, size: int, root_hash: bytes, consistency_proof: Sequence[bytes]) -> str:
        """Sign the checkpoint for a tree of `size` with `root_hash`; returns the signed note.

        `consistency_proof` proves the tree extends the last signed one (RFC 9162 §2.1.4); it is
        ignored for the first checkpoint. Raises CheckpointError for a smaller size, a different
        root at the same size, or a proof that does not verify.
        """
        checkpoint = Checkpoint(self.origin, size, root_hash)
        with exclusive_lock(self._lock_file()):
            state = self._read_state()
            if state is not None:
                self._check_extends(state[1], checkpoint, consistency_proof)
            signed = note.sign(checkpoint.to_text(), self._skey)
            if state is None or state[0] != signed:
                write_text_atomically(self.state_file, signed)
        return signed

    def _check_extends(
        self, last: Checkpoint, checkpoint: Checkpoint, consistency_proof: Sequence[bytes]
    ) -> None:
        if checkpoint.size < last.size:
            raise CheckpointError(
                f"refusing to sign tree size {checkpoint.size}: size {last.size} was already "
                f"signed (see {self.state_file}) and a log never shrinks"
            )
        if checkpoint.size == last.size:
            if checkpoint.root_hash != last.root_hash:
                raise CheckpointError(
                    f"refusing to sign a second root for tree size {checkpoint.size}: "
                    f"a different root was already signed (see {self.state_file})"
                )
            return
        try:
            merkle.verify_consistency(
                last.size,
                checkpoint.size,
                consistency_proof,
                last.root_hash,
                checkpoint.root_hash,
            )
        except merkle.ProofError as exc:
            raise CheckpointError(
                f"refusing to sign tree size {checkpoint.size}: the consistency proof from the "
                f"last signed size {last.size} does not verify: {exc}"
            ) from exc
