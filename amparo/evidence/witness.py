"""A witness that cosigns log checkpoints (c2sp.org/tlog-cosignature, cosignature/v1).

A witness runs outside the network's control. For each log origin it keeps the last
checkpoint it cosigned and cosigns a new one only if it is the same tree or a consistent
extension of it, so a log cannot show different histories to different people without some
witness refusing.

Trust on first use: the first checkpoint a witness sees for an origin is accepted with no
proof, and pins that origin to the log key that signed it. Operators who need more configure
the witness with the log's key and a known checkpoint before it serves anyone.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from amparo.evidence import merkle, note
from amparo.evidence.checkpoint import (
    Checkpoint,
    CheckpointError,
    exclusive_lock,
    write_text_atomically,
)

STATE_HEADER = "amparo-witness-state/v1"


class WitnessRefusal(ValueError):
    """The witness will not cosign; `reason` is a short code, the message says why."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason


class QuorumError(note.NoteError):
    """Fewer witness cosignatures verified than the policy requires."""

    def __init__(self, verified: int, known: int, required: int) -> None:
        super().__init__(
            f"{verified} of {known} known witness cosignatures verified; {required} required"
        )
        self.verified = verified
        self.required = required


@dataclass(frozen=True)
class _LogState:
    log_vkey: str
    cosigned_at: int
    signed_checkpoint: str
    checkpoint: Checkpoint


class Witness:
    """Cosigns checkpoints of any number of logs, keeping one state file per origin."""

    def __init__(self, state_dir: Path, skey: str) -> None:
        self.state_dir = Path(state_dir)
        self._skey = skey
        self._signer = note.parse_signer_key(skey)
        if self._signer.alg != note.ALG_COSIGNATURE_V1:
            raise note.MalformedKeyError(
                f"witness key {self._signer.name!r} must be a cosignature/v1 (type 0x04) key, "
                f"not type 0x{self._signer.alg:02x}"
            )
        self.state_dir.mkdir(parents=True, exist_ok=True)

    @property
    def name(self) -> str:
        """The witness's key name, as it appears on its cosignature lines."""
        return self._signer.name

    @property
    def vkey(self) -> str:
        """The verifier key that checks this witness's cosignatures."""
        return self._signer.vkey()

    def state_file(self, origin: str) -> Path:
        """Where the state for `origin` lives; the file itself names the origin in plain text."""
        digest = hashlib.sha256(origin.encode("utf-8")).hexdigest()[:32]
        return self.state_dir / f"{digest}.state"

    def last_cosigned(self, origin: str) -> str | None:
        """The last checkpoint note cosigned for `origin` (as the log signed it), or None."""
        state = self._read_state(origin)
        return None if state is None else state.signed_checkpoint

    def _read_state(self, origin: str) -> _LogState | None:
        path = self.state_file(origin)
        try:
            content = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            raise WitnessRefusal("unreadable-state", f"{path}: {exc}") from exc
        header, _, signed = content.partition("\n\n")
        fields = dict(line.partition(" ")[::2] for line in header.split("\n")[1:])
        try:
            if not header.startswith(STATE_HEADER + "\n"):
                raise ValueError(f"does not start with {STATE_HEADER}")
            log_vkey, cosigned_at = fields["log-key"], int(fields["cosigned-at"])
            checkpoint = Checkpoint.parse(note.open_note(signed, [log_vkey]).text)
        except (KeyError, ValueError) as exc:
            raise WitnessRefusal("unreadable-state", f"{path}: {exc}") from exc
        if checkpoint.origin != origin:
            raise WitnessRefusal(
                "unreadable-state", f"{path} holds origin {checkpoint.origin!r}, not {origin!r}"
            )
        return _LogState(log_vkey, cosigned_at, signed, checkpoint)

    def _write_state(self, origin: str, state: _LogState) -> None:
        text = (
            f"{STATE_HEADER}\n"
            f"origin {origin}\n"
            f"log-key {state.log_vkey}\n"
            f"size {state.checkpoint.size}\n"
            f"cosigned-at {state.cosigned_at}\n"
            "\n"
            f"{state.signed_checkpoint}"
        )
        write_text_atomically(self.state_file(origin), text)

    def cosign(
        self,
        signed_checkpoint: str,
        log_vkey: str,
        consistency_proof: Sequence[bytes],
        now: int | None = None,
    ) -> str:
        """Cosign a log's signed checkpoint; returns the signature line, ending in a newline.

        `consistency_proof` proves the checkpoint extends the last one cosigned for its origin
        (ignored for the first). Raises WitnessRefusal for a bad log signature, a malformed
        checkpoint, a different log key for a known origin, a rollback, a fork, a proof that
        does not verify, or a clock earlier than the last cosignature.
        """
        try:
            log_verifier = note.parse_verifier_key(log_vkey)
        except note.MalformedKeyError as exc:
            raise WitnessRefusal("malformed-log-key", str(exc)) from exc
        try:
            opened = note.open_note(signed_checkpoint, [log_verifier])
        except note.NoteError as exc:
            raise WitnessRefusal("log-signature", f"checkpoint not accepted: {exc}") from exc
        try:
            checkpoint = Checkpoint.parse(opened.text)
        except CheckpointError as exc:
            raise WitnessRefusal("malformed-checkpoint", str(exc)) from exc
        timestamp = int(time.time()) if now is None else now
        origin = checkpoint.origin
        lock_file = self.state_file(origin).with_suffix(".lock")
        with exclusive_lock(lock_file):
            last = self._read_state(origin)
            if last is not None:
                self._check_extends(last, str(log_verifier), checkpoint, consistency_proof)
                if timestamp < last.cosigned_at:
                    raise WitnessRefusal(
                        "clock",
                        f"time {timestamp} is before the last cosignature for {origin!r} "
                        f"at {last.cosigned_at}",
                    )
            sig = self._signer.sign(opened.text.encode("utf-8"), timestamp)
            self._write_state(
                origin, _LogState(str(log_verifier), timestamp, signed_checkpoint, checkpoint)
            )
        return note.Signature(self._signer.name, self._signer.key_hash, sig).to_line()

    def _check_extends(
        self,
        last: _LogState,
        log_vkey: str,
        checkpoint: Checkpoint,
        consistency_proof: Sequence[bytes],
    ) -> None:
        origin, previous = checkpoint.origin, last.checkpoint
        if log_vkey != last.log_vkey:
            raise WitnessRefusal(
                "unknown-log-key",
                f"origin {origin!r} is pinned to log key {last.log_vkey}, not {log_vkey}",
            )
        if checkpoint.size < previous.size:
            raise WitnessRefusal(
                "rollback",
                f"tree size {checkpoint.size} for {origin!r} is smaller than "
                f"size {previous.size} already cosigned",
            )
        if checkpoint.size == previous.size:
            if checkpoint.root_hash != previous.root_hash:
                raise WitnessRefusal(
                    "fork",
                    f"a different root for {origin!r} at tree size {checkpoint.size} "
                    "was already cosigned",
                )
            return
        try:
            merkle.verify_consistency(
                previous.size,
                checkpoint.size,
                consistency_proof,
                previous.root_hash,
                checkpoint.root_hash,
            )
        except merkle.ProofError as exc:
            raise WitnessRefusal(
                "fork",
                f"no valid consistency proof from size {previous.size} to {checkpoint.size} "
                f"for {origin!r}: {exc}",
            ) from exc


def add_cosignatures(signed_note: str, *lines: str) -> str:
    """Append cosignature lines to a signed note, skipping any already present."""
    text, signatures = note.parse_note(signed_note)
    for line in lines:
        signature = note.parse_signature_line(line)
        if signature not in signatures:
            signatures.append(signature)
    if len(signatures) > note.MAX_SIGNATURES:
        raise note.NoteError(f"malformed note: more than {note.MAX_SIGNATURES} signatures")
    return text + "\n" + "".join(signature.to_line() for signature in signatures)


def witness_verifiers(log_vkey: str, witness_vkeys: Iterable[str]) -> list[note.Verifier]:
    """Parse witness keys, refusing any that would let the log vouch for itself.

    Each must be a cosignature/v1 (type 0x04) key and hold a public key other than the log's.
    Keys that share one public key are one witness: only the first is kept, so a witness
    named twice is never counted twice. Raises MalformedKeyError naming the key.
    """
    log_public_key = note.parse_verifier_key(log_vkey).public_key
    verifiers: dict[bytes, note.Verifier] = {}
    for vkey in witness_vkeys:
        verifier = note.parse_verifier_key(vkey)
        label = f"{verifier.name}+{verifier.key_hash:08x}"
        if verifier.public_key == log_public_key:
            raise note.MalformedKeyError(
                f"witness key {label} is the log's own key; a log cannot witness itself"
            )
        if verifier.alg != note.ALG_COSIGNATURE_V1:
            raise note.MalformedKeyError(
                f"witness key {label} is type 0x{verifier.alg:02x}, not a cosignature/v1 "
                "(type 0x04) key"
            )
        verifiers.setdefault(verifier.public_key, verifier)
    return list(verifiers.values())


def verify_cosigned(
    signed_note: str,
    log_vkey: str,
    witness_vkeys: Iterable[str],
    quorum: int,
) -> Checkpoint:
    """Verify a checkpoint's log signature and at least `quorum` distinct witness cosignatures.

    Witness keys are checked as witness_verifiers does. Every signature by a known key must
    verify. Raises UnverifiedNoteError if the log did not
    sign it or any known signature fails, QuorumError if too few witnesses cosigned, and
    CheckpointError if the text is not a checkpoint.
    """
    if quorum < 0:
        raise ValueError(f"quorum must not be negative, got {quorum}")
    log_verifier = note.parse_verifier_key(log_vkey)
    witnesses = {
        (verifier.name, verifier.key_hash): verifier
        for verifier in witness_verifiers(log_vkey, witness_vkeys)
    }
    opened = note.open_note(signed_note, [log_verifier, *witnesses.values()])
    present = {(signature.name, signature.key_hash) for signature in opened.signatures}
    if (log_verifier.name, log_verifier.key_hash) not in present:
        raise note.UnverifiedNoteError(f"checkpoint is not signed by the log key {log_vkey}")
    cosigned = sum(1 for ident in witnesses if ident in present)
    if cosigned < quorum:
        raise QuorumError(cosigned, len(witnesses), quorum)
    return Checkpoint.parse(opened.text)
