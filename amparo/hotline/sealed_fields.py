"""Encrypted fields and their blind index: A-numbers and dates of birth at rest.

Values are sealed with AES-256-GCM; the field name is the associated data, so a sealed
date of birth cannot be passed off as an A-number. Exact-match search goes through a
keyed HMAC-SHA256 of the normalised value under a separately derived key, so the index
reveals nothing without the key and the key for the index cannot decrypt.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

KEY_FILE_NAME = "field_key"
KEY_ENVIRONMENT_VARIABLE = "AMPARO_FIELD_KEY"
SEALED_PREFIX = "v1:"
NONCE_BYTES = 12


class FieldKeyError(RuntimeError):
    """The field key is missing, unreadable or malformed."""


class UnsealError(ValueError):
    """A sealed value does not open under this key (wrong key, field or damaged value)."""


@dataclass(frozen=True)
class FieldKeys:
    encryption: bytes
    index: bytes


def _decode_key(text: str, source: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(text.strip() + "=" * (-len(text.strip()) % 4))
    except (binascii.Error, ValueError) as error:
        raise FieldKeyError(f"{source}: the field key is not base64 ({error})") from error
    if len(raw) != 32:
        raise FieldKeyError(f"{source}: the field key must be 32 bytes, found {len(raw)}")
    return raw


def _read_or_create_key_file(path: Path) -> bytes:
    try:
        return _decode_key(path.read_text(), str(path))
    except FileNotFoundError:
        pass
    encoded = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    # Written in full under a name of its own, then linked into place: another process that
    # starts at the same moment finds either no key file or a complete one, never an empty
    # file, and a crash mid-write leaves no half-made key behind.
    fd, draft = tempfile.mkstemp(prefix=".field_key-", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as handle:  # mkstemp makes it 0600
            handle.write(encoded + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(draft, path)
        except FileExistsError:  # another process made it first
            return _decode_key(path.read_text(), str(path))
    finally:
        os.unlink(draft)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return _decode_key(encoded, str(path))


def _master_key() -> tuple[bytes, str]:
    """The master key and its text (base64), from AMPARO_FIELD_KEY or the 0600 file
    `field_key` in the data directory, made on first use."""
    from_environment = os.environ.get(KEY_ENVIRONMENT_VARIABLE, "")
    if from_environment:
        return _decode_key(from_environment, KEY_ENVIRONMENT_VARIABLE), from_environment.strip()
    path = Path(settings.DATA_DIR) / KEY_FILE_NAME
    master = _read_or_create_key_file(path)
    return master, path.read_text().strip()


def field_key_text() -> str:
    """The master field key as written in its file (base64), for backups: without it nothing
    sealed in the database opens on a restored instance."""
    return _master_key()[1]


def _derive(master: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(master)


@lru_cache(maxsize=1)
def field_keys() -> FieldKeys:
    """The keys, from AMPARO_FIELD_KEY or the 0600 file `field_key` in the data directory."""
    master, _text = _master_key()
    return FieldKeys(
        encryption=_derive(master, b"amparo field encryption v1"),
        index=_derive(master, b"amparo blind index v1"),
    )


def seal(field: str, value: str) -> str:
    """Encrypt one value for one named field; an empty value stays empty."""
    if value == "":
        return ""
    nonce = secrets.token_bytes(NONCE_BYTES)
    sealed = AESGCM(field_keys().encryption).encrypt(nonce, value.encode(), field.encode())
    return SEALED_PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()


def unseal(field: str, sealed: str) -> str:
    if sealed == "":
        return ""
    if not sealed.startswith(SEALED_PREFIX):
        raise UnsealError(f"{field}: the stored value is not in the sealed format")
    try:
        raw = base64.urlsafe_b64decode(sealed[len(SEALED_PREFIX) :])
        opened = AESGCM(field_keys().encryption).decrypt(
            raw[:NONCE_BYTES], raw[NONCE_BYTES:], field.encode()
        )
    except (binascii.Error, ValueError, InvalidTag) as error:
        raise UnsealError(f"{field}: the stored value does not open under this key") from error
    return opened.decode()


def blind_index(field: str, normalised_value: str) -> str:
    """A keyed HMAC of a normalised value, for exact-match search; empty for no value."""
    if normalised_value == "":
        return ""
    message = field.encode() + b"\x00" + normalised_value.encode()
    return hmac.new(field_keys().index, message, hashlib.sha256).hexdigest()
