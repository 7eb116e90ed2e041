"""Signed notes (c2sp.org/signed-note) with keys in the form Go's sumdb/note reads.

A signed note is a text ending in a newline, a blank line, then one or more lines
``— <key name> <base64(key ID || signature)>``. Two signature types are supported:

* ``0x01`` Ed25519 over the note text (log keys);
* ``0x04`` timestamped Ed25519 cosignatures, c2sp.org/tlog-cosignature ``cosignature/v1``
  (witness keys).

Keys are strings::

    verifier key  <name>+<key ID, 8 hex>+<base64(type byte || 32-byte public key)>
    signer key    PRIVATE+KEY+<name>+<key ID, 8 hex>+<base64(type byte || 32-byte seed)>

where the key ID is the first four bytes of SHA-256(name || "\\n" || type byte || public key).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
import time
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ALG_ED25519 = 0x01
ALG_COSIGNATURE_V1 = 0x04
SUPPORTED_ALGORITHMS = frozenset({ALG_ED25519, ALG_COSIGNATURE_V1})

SIGNATURE_PREFIX = "\u2014 "  # em dash and a space open every signature line
SIGNER_KEY_PREFIX = "PRIVATE+KEY+"
COSIGNATURE_HEADER = "cosignature/v1\n"
# The spec asks verifiers to accept at least 16; Go's reader stops at 100.
MAX_SIGNATURES = 100
MAX_TIMESTAMP = 2**63 - 1

_ED25519_KEY_SIZE = 32
_ED25519_SIGNATURE_SIZE = 64
_TIMESTAMP_SIZE = 8
_HEX_DIGITS = frozenset("0123456789abcdef")


class NoteError(ValueError):
    """A note, a key or a signature is not acceptable; the message says which check failed."""


class MalformedKeyError(NoteError):
    """A signer or verifier key string is not well formed."""


class UnverifiedNoteError(NoteError):
    """A note could not be verified: no known key signed it, or a known key's signature failed."""


@dataclass(frozen=True)
class Signature:
    """One signature line: the key name, the 32-bit key ID and the signature bytes after it."""

    name: str
    key_hash: int
    sig: bytes

    def to_line(self) -> str:
        """The signature line, ending in a newline."""
        blob = self.key_hash.to_bytes(4, "big") + self.sig
        return f"{SIGNATURE_PREFIX}{self.name} {base64.b64encode(blob).decode('ascii')}\n"


@dataclass(frozen=True)
class SignedNote:
    """A note whose signatures were checked: `verified` names the keys that verified."""

    text: str
    signatures: list[Signature]
    verified: list[str] = field(default_factory=list)


def is_valid_key_name(name: str) -> bool:
    """Key names are non-empty and hold no plus sign, no Unicode space and no control character."""
    if not name or "+" in name:
        return False
    for char in name:
        category = unicodedata.category(char)
        if char.isspace() or category in {"Zs", "Zl", "Zp", "Cc", "Cs"}:
            return False
    return True


def key_hash(name: str, alg: int, public_key: bytes) -> int:
    """The key ID: first four bytes of SHA-256(name || newline || type byte || public key)."""
    digest = hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([alg]) + public_key).digest()
    return int.from_bytes(digest[:4], "big")


def cosigned_message(text: bytes, timestamp: int) -> bytes:
    """The message a cosignature/v1 signs: header line, time line, then the whole note text."""
    return f"{COSIGNATURE_HEADER}time {timestamp}\n".encode("ascii") + text


def decode_base64_strictly(value: str) -> bytes:
    """Decode standard base64, refusing anything but its one canonical spelling of the bytes."""
    try:
        raw = base64.b64decode(value.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error, ValueError) as exc:
        raise ValueError(f"not standard base64: {exc}") from exc
    # Unused low bits in the last character would let two spellings mean one value.
    if base64.b64encode(raw).decode("ascii") != value:
        raise ValueError("not canonical base64")
    return raw


@dataclass(frozen=True)
class Verifier:
    """A public key that checks signatures of one type; `str(verifier)` is its vkey string."""

    name: str
    key_hash: int
    alg: int
    public_key: bytes

    def verify(self, msg: bytes, sig: bytes) -> bool:
        """True if `sig` (the bytes after the key ID) is a valid signature of note text `msg`."""
        if self.alg == ALG_COSIGNATURE_V1:
            if len(sig) != _TIMESTAMP_SIZE + _ED25519_SIGNATURE_SIZE:
                return False
            timestamp = int.from_bytes(sig[:_TIMESTAMP_SIZE], "big")
            if timestamp > MAX_TIMESTAMP:
                return False
            return _ed25519_verify(
                self.public_key, cosigned_message(msg, timestamp), sig[_TIMESTAMP_SIZE:]
            )
        if len(sig) != _ED25519_SIGNATURE_SIZE:
            return False
        return _ed25519_verify(self.public_key, msg, sig)

    def __str__(self) -> str:
        material = base64.b64encode(bytes([self.alg]) + self.public_key).decode("ascii")
        return f"{self.name}+{self.key_hash:08x}+{material}"


@dataclass(frozen=True)
class Signer:
    """A private key that signs notes; its seed stays out of `repr`."""

    name: str
    key_hash: int
    alg: int
    seed: bytes = field(repr=False)

    def sign(self, msg: bytes, timestamp: int | None = None) -> bytes:
        """Sign note text `msg`; a cosignature key prefixes the timestamp (default: now)."""
        private_key = Ed25519PrivateKey.from_private_bytes(self.seed)
        if self.alg == ALG_COSIGNATURE_V1:
            when = int(time.time()) if timestamp is None else timestamp
            if not 0 <= when <= MAX_TIMESTAMP:
                raise NoteError(f"cosignature timestamp {when} is outside 0..2^63-1")
            return when.to_bytes(_TIMESTAMP_SIZE, "big") + private_key.sign(
                cosigned_message(msg, when)
            )
        return private_key.sign(msg)

    def verifier(self) -> Verifier:
        """The matching public key."""
        return Verifier(self.name, self.key_hash, self.alg, _public_key_from_seed(self.seed))

    def vkey(self) -> str:
        """The matching verifier key string."""
        return str(self.verifier())


def _ed25519_verify(public_key: bytes, msg: bytes, sig: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(sig, msg)
    except (InvalidSignature, ValueError):
        return False
    return True


def _public_key_from_seed(seed: bytes) -> bytes:
    return Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()


def _parse_key_fields(kind: str, name: str, hash_hex: str, material: str) -> tuple[int, bytes]:
    """Check the fields common to both key forms; returns (algorithm byte, raw key bytes)."""
    if not is_valid_key_name(name):
        raise MalformedKeyError(
            f"{kind} key name {name!r} must be non-empty, without '+', spaces or control characters"
        )
    if len(hash_hex) != 8 or not set(hash_hex) <= _HEX_DIGITS:
        raise MalformedKeyError(f"{kind} key ID {hash_hex!r} must be 8 lowercase hex digits")
    try:
        raw = decode_base64_strictly(material)
    except ValueError as exc:
        raise MalformedKeyError(f"{kind} key material for {name!r}: {exc}") from exc
    if not raw:
        raise MalformedKeyError(f"{kind} key material for {name!r} is empty")
    alg, key = raw[0], raw[1:]
    if alg not in SUPPORTED_ALGORITHMS:
        raise MalformedKeyError(
            f"{kind} key {name!r} has unknown signature type 0x{alg:02x} "
            "(supported: 0x01 Ed25519, 0x04 cosignature/v1)"
        )
    if len(key) != _ED25519_KEY_SIZE:
        raise MalformedKeyError(
            f"{kind} key {name!r} holds {len(key)} key bytes; Ed25519 needs {_ED25519_KEY_SIZE}"
        )
    return alg, key


def parse_verifier_key(vkey: str) -> Verifier:
    """Parse a verifier key ``<name>+<key ID>+<base64 key>``; raises MalformedKeyError."""
    if not isinstance(vkey, str):
        raise MalformedKeyError(f"verifier key must be text, not {type(vkey).__name__}")
    name, sep1, rest = vkey.partition("+")
    hash_hex, sep2, material = rest.partition("+")
    if not (sep1 and sep2):
        raise MalformedKeyError("verifier key must read <name>+<key ID>+<base64 key>")
    alg, public_key = _parse_key_fields("verifier", name, hash_hex, material)
    try:
        Ed25519PublicKey.from_public_bytes(public_key)
    except ValueError as exc:
        raise MalformedKeyError(f"verifier key {name!r} is not an Ed25519 public key") from exc
    if key_hash(name, alg, public_key) != int(hash_hex, 16):
        raise MalformedKeyError(f"verifier key {name!r}: key ID {hash_hex} does not match the key")
    return Verifier(name, int(hash_hex, 16), alg, public_key)


def parse_signer_key(skey: str) -> Signer:
    """Parse ``PRIVATE+KEY+<name>+<key ID>+<base64 seed>``; raises MalformedKeyError."""
    if not isinstance(skey, str):
        raise MalformedKeyError(f"signer key must be text, not {type(skey).__name__}")
    if not skey.startswith(SIGNER_KEY_PREFIX):
        raise MalformedKeyError("signer key must start with PRIVATE+KEY+")
    name, sep1, rest = skey[len(SIGNER_KEY_PREFIX) :].partition("+")
    hash_hex, sep2, material = rest.partition("+")
    if not (sep1 and sep2):
        raise MalformedKeyError("signer key must read PRIVATE+KEY+<name>+<key ID>+<base64 seed>")
    alg, seed = _parse_key_fields("signer", name, hash_hex, material)
    if key_hash(name, alg, _public_key_from_seed(seed)) != int(hash_hex, 16):
        raise MalformedKeyError(f"signer key {name!r}: key ID {hash_hex} does not match the key")
    return Signer(name, int(hash_hex, 16), alg, seed)


def _generate(name: str, alg: int) -> tuple[str, str]:
    if not is_valid_key_name(name):
        raise MalformedKeyError(
            f"key name {name!r} must be non-empty, without '+', spaces or control characters"
        )
    seed = secrets.token_bytes(_ED25519_KEY_SIZE)
    signer = Signer(name, key_hash(name, alg, _public_key_from_seed(seed)), alg, seed)
    material = base64.b64encode(bytes([alg]) + seed).decode("ascii")
    skey = f"{SIGNER_KEY_PREFIX}{name}+{signer.key_hash:08x}+{material}"
    return skey, signer.vkey()


def generate_key(name: str) -> tuple[str, str]:
    """A new Ed25519 (type 0x01) key pair as (signer key, verifier key) strings."""
    return _generate(name, ALG_ED25519)


def generate_cosignature_key(name: str) -> tuple[str, str]:
    """A new cosignature/v1 (type 0x04) key pair as (signer key, verifier key) strings."""
    return _generate(name, ALG_COSIGNATURE_V1)


def _check_characters(what: str, value: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise NoteError(f"malformed note: {what} is not valid UTF-8") from exc
    for char in value:
        if char != "\n" and ord(char) < 0x20:
            raise NoteError(f"malformed note: {what} holds control character U+{ord(char):04X}")


def parse_signature_line(line: str) -> Signature:
    """Parse one ``— <name> <base64>`` line (with or without its newline), without verifying it."""
    body = line[:-1] if line.endswith("\n") else line
    if not body.startswith(SIGNATURE_PREFIX):
        raise NoteError(f"malformed note: signature line {body[:40]!r} does not start with '— '")
    name, sep, encoded = body[len(SIGNATURE_PREFIX) :].partition(" ")
    if not sep or not is_valid_key_name(name):
        raise NoteError(f"malformed note: signature line has a bad key name {name!r}")
    try:
        blob = decode_base64_strictly(encoded)
    except ValueError as exc:
        raise NoteError(f"malformed note: signature by {name!r}: {exc}") from exc
    if len(blob) < 5:
        raise NoteError(f"malformed note: signature by {name!r} is too short")
    return Signature(name, int.from_bytes(blob[:4], "big"), blob[4:])


def parse_note(note: str) -> tuple[str, list[Signature]]:
    """Split a signed note into its text and signatures, checking the format but no signature."""
    if not isinstance(note, str):
        raise NoteError(f"malformed note: expected text, not {type(note).__name__}")
    _check_characters("the note", note)
    split = note.rfind("\n\n")
    if split < 0:
        raise NoteError("malformed note: no blank line separates the text from the signatures")
    text, block = note[: split + 1], note[split + 2 :]
    if not block:
        raise NoteError("malformed note: no signature lines after the blank line")
    if not block.endswith("\n"):
        raise NoteError("malformed note: the last signature line does not end in a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"malformed note: more than {MAX_SIGNATURES} signatures")
    return text, [parse_signature_line(line) for line in lines]


def _index_verifiers(
    verifiers: Iterable[Verifier | str],
) -> tuple[dict[tuple[str, int], Verifier], set[tuple[str, int]]]:
    known: dict[tuple[str, int], Verifier] = {}
    ambiguous: set[tuple[str, int]] = set()
    for item in verifiers:
        verifier = parse_verifier_key(item) if isinstance(item, str) else item
        ident = (verifier.name, verifier.key_hash)
        if ident in known and known[ident] != verifier:
            ambiguous.add(ident)
        known[ident] = verifier
    return known, ambiguous


def open_note(note: str, verifiers: Iterable[Verifier | str]) -> SignedNote:
    """Verify a signed note against known keys and return its text and signature details.

    Signatures from unknown keys (name and key ID not both matching) are ignored. Raises
    UnverifiedNoteError if any known key's signature fails, or if none verifies.
    """
    known, ambiguous = _index_verifiers(verifiers)
    text, signatures = parse_note(note)
    message = text.encode("utf-8")
    verified: list[str] = []
    for signature in signatures:
        ident = (signature.name, signature.key_hash)
        if ident in ambiguous:
            raise UnverifiedNoteError(
                f"ambiguous key {signature.name}+{signature.key_hash:08x}: "
                "two different verifier keys share that name and key ID"
            )
        verifier = known.get(ident)
        if verifier is None:
            continue
        if not verifier.verify(message, signature.sig):
            raise UnverifiedNoteError(
                f"bad signature by known key {signature.name}+{signature.key_hash:08x}"
            )
        if signature.name not in verified:
            verified.append(signature.name)
    if not verified:
        names = ", ".join(sorted(f"{name}+{h:08x}" for name, h in known)) or "none given"
        raise UnverifiedNoteError(f"no signature by a known key (known keys: {names})")
    return SignedNote(text, signatures, verified)


def open(note: str, vkeys: Iterable[str]) -> str:
    """Return the text of a signed note if a known key verifies it and no known key's fails."""
    return open_note(note, vkeys).text


def _check_text(text: str) -> None:
    if not isinstance(text, str) or not text.endswith("\n"):
        raise NoteError("malformed note: the text to sign must end in a newline")
    _check_characters("the text", text)


def sign(text: str, *skeys: str) -> str:
    """Sign `text` (ending in a newline) with each signer key; returns the signed note."""
    _check_text(text)
    if not skeys:
        raise NoteError("sign needs at least one signer key")
    message = text.encode("utf-8")
    lines = []
    for skey in skeys:
        signer = parse_signer_key(skey)
        lines.append(Signature(signer.name, signer.key_hash, signer.sign(message)).to_line())
    return text + "\n" + "".join(lines)
