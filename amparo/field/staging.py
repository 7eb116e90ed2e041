"""Uploads in progress at rest: every received chunk is sealed before it touches the disk.

Each upload gets a random 256-bit key. The key is kept only wrapped (AES-256-GCM under a
key derived by HKDF from SECRET_KEY, which is not in the staging directory) in the upload's
database row. The staging file is a run of records, one per chunk in offset order::

    nonce (12 random bytes) || AES-256-GCM ciphertext of the chunk || tag (16 bytes)

The associated data binds a record to its upload, offset and length, so a record cannot be
moved, swapped into another upload or cut short without the check failing. Once the file is
ingested the wrapped key is erased, so staging bytes left behind can never be opened again.
"""

from __future__ import annotations

import base64
import binascii
import io
import os
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

NONCE_BYTES = 12
TAG_BYTES = 16
RECORD_OVERHEAD = NONCE_BYTES + TAG_BYTES
SEALED_SUFFIX = ".sealed"
# Staging files of versions that kept chunks in plaintext; the sweep removes them on sight.
PLAINTEXT_SUFFIX = ".part"
_WRAP_LABEL = b"amparo field staging key wrap v1"
_CHUNK_LABEL = b"amparo field staging chunk v1\x00"
_WRAPPED_PREFIX = "v1:"


class StagingError(Exception):
    """An upload's staging file or key cannot be opened: missing, cut short or altered."""


@dataclass(frozen=True)
class StagedChunk:
    """Where one confirmed chunk's plaintext belongs and how long it is."""

    offset: int
    size: int


@lru_cache(maxsize=4)
def _wrapping_key(secret: str) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_WRAP_LABEL)
    return hkdf.derive(secret.encode())


def _wrapping_aead() -> AESGCM:
    return AESGCM(_wrapping_key(str(settings.SECRET_KEY)))


def new_upload_key(file_id: uuid.UUID) -> tuple[bytes, str]:
    """A fresh random key for one upload, and the wrapped form to keep in its row."""
    key = AESGCM.generate_key(bit_length=256)
    nonce = secrets.token_bytes(NONCE_BYTES)
    wrapped = nonce + _wrapping_aead().encrypt(nonce, key, _WRAP_LABEL + file_id.bytes)
    return key, _WRAPPED_PREFIX + base64.urlsafe_b64encode(wrapped).decode()


def unwrap_upload_key(file_id: uuid.UUID, wrapped: str) -> bytes:
    """The upload's key from its row; StagingError if absent or not opened by this secret."""
    if not wrapped.startswith(_WRAPPED_PREFIX):
        raise StagingError(f"upload {file_id}: no sealed staging key is recorded")
    try:
        raw = base64.urlsafe_b64decode(wrapped[len(_WRAPPED_PREFIX) :])
        return _wrapping_aead().decrypt(
            raw[:NONCE_BYTES], raw[NONCE_BYTES:], _WRAP_LABEL + file_id.bytes
        )
    except (binascii.Error, ValueError, InvalidTag) as error:
        raise StagingError(
            f"upload {file_id}: the staging key does not open under this server's secret key"
        ) from error


def _associated_data(file_id: uuid.UUID, offset: int, size: int) -> bytes:
    return _CHUNK_LABEL + file_id.bytes + offset.to_bytes(8, "big") + size.to_bytes(4, "big")


def seal_chunk(key: bytes, file_id: uuid.UUID, offset: int, plaintext: bytes) -> bytes:
    """One staging record: a random nonce, then the chunk encrypted and authenticated."""
    nonce = secrets.token_bytes(NONCE_BYTES)
    associated = _associated_data(file_id, offset, len(plaintext))
    return nonce + AESGCM(key).encrypt(nonce, plaintext, associated)


def open_chunk(key: bytes, file_id: uuid.UUID, chunk: StagedChunk, record: bytes) -> bytes:
    """The plaintext of one staging record; StagingError if it was altered or cut short."""
    if len(record) != chunk.size + RECORD_OVERHEAD:
        raise StagingError(
            f"upload {file_id}: the staging record for byte {chunk.offset} is cut short"
        )
    try:
        return AESGCM(key).decrypt(
            record[:NONCE_BYTES],
            record[NONCE_BYTES:],
            _associated_data(file_id, chunk.offset, chunk.size),
        )
    except InvalidTag as error:
        raise StagingError(
            f"upload {file_id}: the staging record for byte {chunk.offset} fails its "
            "AES-GCM integrity check"
        ) from error


def record_position(offset: int, chunks_before: int) -> int:
    """Where in the staging file the record of the chunk at plaintext `offset` starts."""
    return offset + chunks_before * RECORD_OVERHEAD


def sealed_length(chunks: Sequence[StagedChunk]) -> int:
    return sum(chunk.size for chunk in chunks) + len(chunks) * RECORD_OVERHEAD


class StagedPlaintext(io.RawIOBase):
    """The plaintext of a staging file, opened one chunk at a time as it is read.

    Memory holds one chunk. Seeking re-opens from the chunk holding the new position, so a
    reader may look at the head of the file and then start again from byte 0.
    """

    def __init__(
        self, path: Path, key: bytes, file_id: uuid.UUID, chunks: Sequence[StagedChunk]
    ) -> None:
        super().__init__()
        self._file = path.open("rb")
        self._key = key
        self._file_id = file_id
        self._chunks = list(chunks)
        expected = 0
        for chunk in self._chunks:
            if chunk.offset != expected:
                raise StagingError(f"upload {file_id}: the chunks leave a gap at byte {expected}")
            expected += chunk.size
        self._size = expected
        self._index = 0
        self._current = b""
        self._within = 0
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._position, os.SEEK_END: self._size}[whence]
        target = min(max(base + offset, 0), self._size)
        self._index = 0
        while self._index < len(self._chunks) and (
            self._chunks[self._index].offset + self._chunks[self._index].size <= target
        ):
            self._index += 1
        self._current = b""
        self._within = target - (
            self._chunks[self._index].offset if self._index < len(self._chunks) else target
        )
        self._position = target
        return target

    def _load(self) -> bool:
        if self._index >= len(self._chunks):
            return False
        chunk = self._chunks[self._index]
        self._file.seek(record_position(chunk.offset, self._index))
        record = self._file.read(chunk.size + RECORD_OVERHEAD)
        self._current = open_chunk(self._key, self._file_id, chunk, record)
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        while not self._current or self._within >= len(self._current):
            if self._current:
                self._index += 1
                self._current = b""
                self._within = 0
            if not self._load():
                return 0
        count = min(len(view), len(self._current) - self._within)
        view[:count] = self._current[self._within : self._within + count]
        self._within += count
        self._position += count
        return count

    def close(self) -> None:
        if not self.closed:
            self._file.close()
            self._current = b""
        super().close()


def open_plaintext(
    path: Path, key: bytes, file_id: uuid.UUID, chunks: Sequence[StagedChunk]
) -> io.BufferedReader:
    """A buffered binary stream of the staged file's plaintext (never written anywhere)."""
    try:
        raw = StagedPlaintext(path, key, file_id, chunks)
    except FileNotFoundError as error:
        raise StagingError(f"upload {file_id}: the staging file {path.name} is missing") from error
    return io.BufferedReader(raw, buffer_size=1024 * 1024)
