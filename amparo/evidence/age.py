"""Streaming age v1 encryption with X25519 recipients (https://age-encryption.org/v1).

Files written here decrypt with the ``age`` command-line tool and an identity file, and
files that ``age -r`` writes decrypt here. Only the X25519 recipient type is implemented;
stanzas of other types are skipped, as the specification asks.
"""

from __future__ import annotations

import base64
import errno
import hmac
import io
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from hashlib import sha256
from types import TracebackType
from typing import BinaryIO, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from amparo.evidence import bech32

__all__ = [
    "CHUNK_SIZE",
    "AgeError",
    "DecryptingReader",
    "EncryptingWriter",
    "check_recipient",
    "decrypt_bytes",
    "encrypt_bytes",
    "format_identity_file",
    "generate_identity",
    "parse_identity_file",
    "recipient_of",
]

CHUNK_SIZE = 64 * 1024
_TAG_SIZE = 16
_ENCRYPTED_CHUNK_SIZE = CHUNK_SIZE + _TAG_SIZE
_FILE_KEY_SIZE = 16
# Non-final chunks are sealed and written in batches of up to 1 MiB.
_CHUNKS_PER_WRITE = 16
_PAYLOAD_NONCE_SIZE = 16
_VERSION_LINE = b"age-encryption.org/v1\n"
_X25519_INFO = b"age-encryption.org/v1/X25519"
_IDENTITY_PREFIX = "AGE-SECRET-KEY-"
_RECIPIENT_PREFIX = "age"
_ZERO_NONCE = bytes(12)
_BODY_COLUMNS = 64
# Generous bounds so a hostile header cannot make the reader buffer without end.
_MAX_HEADER_LINE = 16 * 1024
_MAX_HEADER_SIZE = 1024 * 1024
_BASE64_LINE = re.compile(rb"[A-Za-z0-9+/]*")
_ARGUMENT = re.compile(rb"[\x21-\x7e]+")


class AgeError(ValueError):
    """An age key or file was refused; the message says which check failed."""


class _Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes | None: ...


class _Writable(Protocol):
    def write(self, data: memoryview, /) -> int | None: ...


# --- keys ---------------------------------------------------------------------------------


def _raw_public(key: X25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def _parse_identity(identity: str) -> X25519PrivateKey:
    text = identity.strip()
    if not text.startswith(_IDENTITY_PREFIX + "1"):
        raise AgeError("not an age identity: it must start with AGE-SECRET-KEY-1")
    try:
        _, key = bech32.decode(text)
    except bech32.Bech32Error as error:
        raise AgeError(f"malformed age identity: {error}") from None
    if len(key) != 32:
        raise AgeError(f"malformed age identity: key is {len(key)} bytes, expected 32")
    return X25519PrivateKey.from_private_bytes(key)


def _parse_recipient(recipient: str) -> bytes:
    text = recipient.strip()
    if not text.startswith(_RECIPIENT_PREFIX + "1"):
        raise AgeError(f"not an age recipient: {text[:16]!r} does not start with age1")
    try:
        hrp, key = bech32.decode(text)
    except bech32.Bech32Error as error:
        raise AgeError(f"malformed age recipient {text!r}: {error}") from None
    if hrp != _RECIPIENT_PREFIX or len(key) != 32:
        raise AgeError(f"malformed age recipient {text!r}: expected a 32-byte X25519 key")
    return key


def check_recipient(recipient: str) -> None:
    """Raise AgeError unless ``recipient`` is a well-formed ``age1…`` X25519 recipient."""
    _parse_recipient(recipient)


def generate_identity() -> tuple[str, str]:
    """Make a new X25519 key pair: ``(identity "AGE-SECRET-KEY-1…", recipient "age1…")``."""
    private = X25519PrivateKey.generate()
    secret = private.private_bytes_raw()
    identity = bech32.encode(_IDENTITY_PREFIX, secret).upper()
    return identity, bech32.encode(_RECIPIENT_PREFIX, _raw_public(private.public_key()))


def recipient_of(identity: str) -> str:
    """Return the ``age1…`` recipient (public key) that belongs to ``identity``."""
    private = _parse_identity(identity)
    return bech32.encode(_RECIPIENT_PREFIX, _raw_public(private.public_key()))


def format_identity_file(identity: str) -> str:
    """Render ``identity`` as an identity file that ``age -d -i FILE`` reads."""
    return f"# public key: {recipient_of(identity)}\n{identity.strip()}\n"


def parse_identity_file(text: str) -> list[str]:
    """Return the identities in an identity file, skipping blank lines and ``#`` comments."""
    identities = [
        line.strip()
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    for identity in identities:
        _parse_identity(identity)
    return identities


# --- header -----------------------------------------------------------------------------


def _hkdf(ikm: bytes, salt: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(ikm)


def _b64encode(raw: bytes) -> bytes:
    return base64.b64encode(raw).rstrip(b"=")


def _b64decode(text: bytes, what: str) -> bytes:
    if not _BASE64_LINE.fullmatch(text) or len(text) % 4 == 1:
        raise AgeError(f"header is malformed: {what} is not unpadded base64")
    raw = base64.b64decode(text + b"=" * (-len(text) % 4), validate=True)
    if _b64encode(raw) != text:
        raise AgeError(f"header is malformed: {what} is not canonical base64")
    return raw


@dataclass(frozen=True)
class _Stanza:
    arguments: tuple[bytes, ...]
    body: bytes

    def encode(self) -> bytes:
        encoded = _b64encode(self.body)
        lines = [
            encoded[start : start + _BODY_COLUMNS]
            for start in range(0, len(encoded), _BODY_COLUMNS)
        ]
        if not lines or len(lines[-1]) == _BODY_COLUMNS:
            lines.append(b"")
        return b"-> " + b" ".join(self.arguments) + b"\n" + b"\n".join(lines) + b"\n"


def _wrap_file_key(file_key: bytes, recipient: bytes) -> _Stanza:
    ephemeral = X25519PrivateKey.generate()
    share = _raw_public(ephemeral.public_key())
    shared_secret = ephemeral.exchange(X25519PublicKey.from_public_bytes(recipient))
    wrap_key = _hkdf(shared_secret, share + recipient, _X25519_INFO)
    body = ChaCha20Poly1305(wrap_key).encrypt(_ZERO_NONCE, file_key, None)
    return _Stanza((b"X25519", _b64encode(share)), body)


def _header_mac(file_key: bytes, header_without_mac: bytes) -> bytes:
    return hmac.digest(_hkdf(file_key, b"", b"header"), header_without_mac, sha256)


def _encode_header(file_key: bytes, recipients: Iterable[bytes]) -> bytes:
    stanzas = b"".join(_wrap_file_key(file_key, key).encode() for key in recipients)
    header_without_mac = _VERSION_LINE + stanzas + b"---"
    mac = _header_mac(file_key, header_without_mac)
    return header_without_mac + b" " + _b64encode(mac) + b"\n"


@dataclass(frozen=True)
class _Header:
    stanzas: tuple[_Stanza, ...]
    mac: bytes
    signed_part: bytes


def _read_header_line(source: BinaryIO, consumed: int) -> bytes:
    line = source.readline(_MAX_HEADER_LINE)
    if not line:
        raise AgeError("header is truncated: the file ends before the header does")
    if not line.endswith(b"\n"):
        raise AgeError("header is malformed: a header line is too long or unterminated")
    if consumed + len(line) > _MAX_HEADER_SIZE:
        raise AgeError("header is malformed: it is larger than any real age header")
    return line


def _read_header(source: BinaryIO) -> _Header:
    first = source.readline(len(_VERSION_LINE))
    if first != _VERSION_LINE:
        raise AgeError("not an age v1 file: the first line is not age-encryption.org/v1")
    signed = bytearray(first)
    stanzas: list[_Stanza] = []
    while True:
        line = _read_header_line(source, len(signed))
        if line.startswith(b"---"):
            match = re.fullmatch(rb"--- ([A-Za-z0-9+/]{43})\n", line)
            if not match:
                raise AgeError("header is malformed: the MAC line is not '--- ' and 43 base64")
            if not stanzas:
                raise AgeError("header is malformed: it has no recipient stanza")
            mac = _b64decode(match.group(1), "the header MAC")
            return _Header(tuple(stanzas), mac, bytes(signed) + b"---")
        if not line.startswith(b"-> "):
            raise AgeError("header is malformed: expected a '-> ' stanza or the '---' MAC line")
        signed += line
        arguments = tuple(line[3:-1].split(b" "))
        if not all(_ARGUMENT.fullmatch(argument) for argument in arguments):
            raise AgeError("header is malformed: a stanza argument is empty or not printable")
        body_lines: list[bytes] = []
        while True:
            body_line = _read_header_line(source, len(signed))
            signed += body_line
            text = body_line[:-1]
            if len(text) > _BODY_COLUMNS or not _BASE64_LINE.fullmatch(text):
                raise AgeError("header is malformed: a stanza body line is not base64")
            body_lines.append(text)
            if len(text) < _BODY_COLUMNS:
                break
        stanzas.append(_Stanza(arguments, _b64decode(b"".join(body_lines), "a stanza body")))


def _unwrap_x25519(stanza: _Stanza, identity: X25519PrivateKey) -> bytes | None:
    if len(stanza.arguments) != 2:
        raise AgeError("header is malformed: an X25519 stanza must have exactly one argument")
    share = _b64decode(stanza.arguments[1], "an X25519 ephemeral share")
    if len(share) != 32:
        raise AgeError("header is malformed: an X25519 ephemeral share is not 32 bytes")
    if len(stanza.body) != _FILE_KEY_SIZE + _TAG_SIZE:
        raise AgeError("header is malformed: an X25519 stanza body is not 32 bytes")
    try:
        shared_secret = identity.exchange(X25519PublicKey.from_public_bytes(share))
    except ValueError:
        raise AgeError("header is malformed: an X25519 share is a low-order point") from None
    if not any(shared_secret):
        raise AgeError("header is malformed: an X25519 share is a low-order point")
    salt = share + _raw_public(identity.public_key())
    wrap_key = _hkdf(shared_secret, salt, _X25519_INFO)
    try:
        return ChaCha20Poly1305(wrap_key).decrypt(_ZERO_NONCE, stanza.body, None)
    except InvalidTag:
        return None


def _find_file_key(header: _Header, identities: Sequence[X25519PrivateKey]) -> bytes:
    for stanza in header.stanzas:
        if stanza.arguments[0] != b"X25519":
            continue
        for identity in identities:
            file_key = _unwrap_x25519(stanza, identity)
            if file_key is not None:
                return file_key
    raise AgeError("no identity matched: none of the given keys can decrypt this file")


# --- payload ------------------------------------------------------------------------------


def _chunk_nonce(counter: int, *, last: bool) -> bytes:
    if counter >= 1 << 88:
        raise AgeError("payload is too large: the chunk counter would overflow")
    return counter.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


class EncryptingWriter:
    """A write-only stream that age-encrypts what is written to it into ``out``.

    The header and payload nonce are written at construction. ``close()`` writes the final
    chunk and flushes ``out`` but leaves it open. Leaving a ``with`` block through an
    exception does not write a final chunk, so an interrupted stream never decrypts as if
    it were complete.
    """

    def __init__(self, out: _Writable, recipients: Sequence[str]) -> None:
        if isinstance(recipients, str):
            raise TypeError("recipients must be a sequence of strings, not one string")
        keys = [_parse_recipient(recipient) for recipient in recipients]
        if not keys:
            raise AgeError("cannot encrypt: no recipients were given")
        file_key = os.urandom(_FILE_KEY_SIZE)
        nonce = os.urandom(_PAYLOAD_NONCE_SIZE)
        self._out = out
        self._aead = ChaCha20Poly1305(_hkdf(file_key, nonce, b"payload"))
        self._pending = bytearray()
        self._counter = 0
        self._closed = False
        self._write_all(_encode_header(file_key, keys) + nonce)

    def _write_all(self, data: bytes | bytearray) -> None:
        # Raw streams may accept only part of a write; a writer returning None took it all.
        with memoryview(data) as view:
            offset = 0
            while offset < len(view):
                written = self._out.write(view[offset:])
                if written == 0:
                    raise OSError(errno.EIO, "the output stream accepted no bytes")
                offset = len(view) if written is None else offset + written

    @property
    def closed(self) -> bool:
        """True once the stream was finalised or abandoned."""
        return self._closed

    def writable(self) -> bool:
        """Always true: this is a write-only stream."""
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Encrypt ``data``; whole 64 KiB chunks go to ``out`` as soon as they are known."""
        if self._closed:
            raise ValueError("write to a closed age stream")
        with memoryview(data) as raw, raw.cast("B") as view:
            size = len(view)
            offset = 0
            if self._pending:
                # Keep at least one byte back: only close() knows which chunk is the last.
                missing = CHUNK_SIZE - len(self._pending)
                if size <= missing:
                    self._pending += view
                    return size
                self._pending += view[:missing]
                offset = missing
                self._seal(memoryview(self._pending), 1)
                self._pending.clear()
            while size - offset > CHUNK_SIZE:
                batch = min((size - offset - 1) // CHUNK_SIZE, _CHUNKS_PER_WRITE)
                self._seal(view[offset : offset + batch * CHUNK_SIZE], batch)
                offset += batch * CHUNK_SIZE
            self._pending += view[offset:]
        return size

    def _seal(self, plain: memoryview, chunks: int) -> None:
        sealed = bytearray(chunks * _ENCRYPTED_CHUNK_SIZE)
        with plain, memoryview(sealed) as target:
            for index in range(chunks):
                self._aead.encrypt_into(
                    _chunk_nonce(self._counter, last=False),
                    plain[index * CHUNK_SIZE : (index + 1) * CHUNK_SIZE],
                    None,
                    target[index * _ENCRYPTED_CHUNK_SIZE : (index + 1) * _ENCRYPTED_CHUNK_SIZE],
                )
                self._counter += 1
        self._write_all(sealed)

    def close(self) -> None:
        """Write the final chunk and flush ``out`` (which stays open). Idempotent."""
        if self._closed:
            return
        self._closed = True
        last = self._aead.encrypt(
            _chunk_nonce(self._counter, last=True), bytes(self._pending), None
        )
        self._pending.clear()
        self._write_all(last)
        flush = getattr(self._out, "flush", None)
        if flush is not None:
            flush()

    def abandon(self) -> None:
        """Stop without a final chunk: what was written will not decrypt as a whole file."""
        self._closed = True
        self._pending.clear()

    def __enter__(self) -> EncryptingWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abandon()


class DecryptingReader(io.RawIOBase):
    """A read-only stream of the plaintext of the age file in ``source``.

    The header is read and its MAC checked at construction. Every chunk is authenticated
    before any of its bytes are returned; AgeError is raised on an altered chunk, on data
    after the final chunk, and on a file that ends before its final chunk (truncation).
    ``name`` is used in error messages. ``source`` is closed with the reader only when
    ``close_source`` is true.
    """

    def __init__(
        self,
        source: BinaryIO,
        identities: Sequence[str],
        *,
        name: str = "age file",
        close_source: bool = False,
    ) -> None:
        super().__init__()
        self._source = source
        self._name = name
        self._close_source = close_source
        if isinstance(identities, str):
            raise TypeError("identities must be a sequence of strings, not one string")
        keys = [_parse_identity(identity) for identity in identities]
        if not keys:
            raise AgeError(f"cannot decrypt {name}: no identities were given")
        try:
            header = _read_header(source)
            file_key = _find_file_key(header, keys)
        except AgeError as error:
            raise AgeError(f"{name}: {error}") from None
        if not hmac.compare_digest(_header_mac(file_key, header.signed_part), header.mac):
            raise AgeError(f"{name}: header MAC mismatch: the header was altered")
        nonce = self._read_exact(_PAYLOAD_NONCE_SIZE)
        if len(nonce) != _PAYLOAD_NONCE_SIZE:
            raise AgeError(f"{name}: payload is truncated: the file ends inside the nonce")
        self._aead = ChaCha20Poly1305(_hkdf(file_key, nonce, b"payload"))
        self._counter = 0
        self._finished = False
        self._plain = b""
        self._offset = 0

    def readable(self) -> bool:
        """Always true."""
        return True

    def _read_exact(self, size: int) -> bytes:
        parts: list[bytes] = []
        remaining = size
        while remaining > 0:
            part = self._source.read(remaining)
            if not part:
                break
            parts.append(part)
            remaining -= len(part)
        return b"".join(parts)

    def _open_chunk(self, sealed: bytes, *, last: bool) -> bytes | None:
        try:
            return self._aead.decrypt(_chunk_nonce(self._counter, last=last), sealed, None)
        except InvalidTag:
            return None

    def _decrypt_next_chunk(self) -> bytes:
        sealed = self._read_exact(_ENCRYPTED_CHUNK_SIZE)
        where = f"{self._name}: payload chunk {self._counter}"
        if len(sealed) < _TAG_SIZE:
            raise AgeError(f"{where} is missing or cut short: the file was truncated")
        if len(sealed) == _ENCRYPTED_CHUNK_SIZE:
            plain = self._open_chunk(sealed, last=False)
            if plain is None:
                plain = self._open_chunk(sealed, last=True)
                if plain is None:
                    raise AgeError(f"{where} failed authentication: the file was altered")
                self._finished = True
                if self._source.read(1):
                    raise AgeError(f"{where}: data follows the final chunk")
        else:
            plain = self._open_chunk(sealed, last=True)
            if plain is None:
                raise AgeError(f"{where} failed authentication: the file was altered or cut")
            self._finished = True
            if not plain and self._counter > 0:
                raise AgeError(f"{where} is an empty final chunk, which age forbids")
        self._counter += 1
        return plain

    def read(self, size: int | None = -1, /) -> bytes:
        """Return up to ``size`` plaintext bytes (all that is left when negative)."""
        if self.closed:
            raise ValueError("read from a closed age stream")
        parts: list[bytes] = []
        wanted = -1 if size is None or size < 0 else size
        while wanted != 0:
            if self._offset >= len(self._plain):
                if self._finished:
                    break
                self._plain = self._decrypt_next_chunk()
                self._offset = 0
                continue
            end = len(self._plain) if wanted < 0 else min(len(self._plain), self._offset + wanted)
            if self._offset == 0 and end == len(self._plain):
                parts.append(self._plain)
            else:
                parts.append(self._plain[self._offset : end])
            if wanted > 0:
                wanted -= end - self._offset
            self._offset = end
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def readall(self) -> bytes:
        """Return all remaining plaintext."""
        return self.read(-1)

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        """Fill ``buffer`` with plaintext; returns the number of bytes, 0 at the end."""
        with memoryview(buffer) as view, view.cast("B") as target:
            data = self.read(len(target))
            target[: len(data)] = data
        return len(data)

    def close(self) -> None:
        """Close the reader (and ``source`` when ``close_source`` was set)."""
        if not self.closed and self._close_source:
            self._source.close()
        super().close()


def encrypt_bytes(plaintext: bytes, recipients: Sequence[str]) -> bytes:
    """Return ``plaintext`` encrypted to ``recipients`` as one age file."""
    out = io.BytesIO()
    with EncryptingWriter(out, recipients) as writer:
        writer.write(plaintext)
    return out.getvalue()


def decrypt_bytes(ciphertext: bytes, identities: Sequence[str]) -> bytes:
    """Return the plaintext of the age file ``ciphertext``; AgeError when it does not verify."""
    with DecryptingReader(io.BytesIO(ciphertext), identities) as reader:
        return reader.read()
