"""Custody entries: what happened to a piece of evidence, as canonical JSON log entries.

An entry names its evidence by a commitment, SHA-256(nonce || SHA-256(original)), never by
the raw file hash, so that a published log reveals nothing about what the network holds.
Entries are serialised with the JSON Canonicalization Scheme (RFC 8785): the same event always
has the same bytes, and a verifier can refuse any other spelling of it.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import rfc8785

ENTRY_TYPE = "amparo.custody"
ENTRY_VERSION = 1
NONCE_SIZE = 32

_HEX64 = re.compile(r"[0-9a-f]{64}")
_RFC3339_UTC = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z")
_FIELDS = {"type", "v", "event", "at", "actor_role", "actor_id", "commitment", "details"}

DetailValue = str | int | bool


class CustodyEvent(StrEnum):
    """The things that can happen to a piece of evidence."""

    CAPTURED = "captured"
    INGESTED = "ingested"
    VIEWED = "viewed"
    DOWNLOADED = "downloaded"
    DERIVED = "derived"
    EXPORTED = "exported"
    SHARED = "shared"
    RETENTION_CHANGED = "retention_changed"


class CustodyEntryError(ValueError):
    """A custody entry is malformed or not in canonical form."""


def new_nonce() -> bytes:
    """Return a fresh random 32-byte nonce for one item's commitment."""
    return secrets.token_bytes(NONCE_SIZE)


def commitment(nonce: bytes, sha256_hex: str) -> str:
    """Return hex SHA-256(nonce || digest), where digest is the raw 32-byte SHA-256 of the file."""
    if len(nonce) != NONCE_SIZE:
        raise ValueError(f"nonce must be {NONCE_SIZE} bytes, got {len(nonce)}")
    if not _HEX64.fullmatch(sha256_hex):
        raise ValueError("sha256_hex must be 64 lowercase hexadecimal characters")
    return hashlib.sha256(nonce + bytes.fromhex(sha256_hex)).hexdigest()


def format_time(at: datetime) -> str:
    """Render a UTC datetime as RFC 3339 with a trailing "Z"; refuse naive or non-UTC times."""
    offset = at.utcoffset()
    if offset is None or offset != timedelta(0):
        raise ValueError("custody times must be timezone-aware and in UTC")
    text = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    if at.microsecond:
        text += f".{at.microsecond:06d}"
    return text + "Z"


def custody_entry(
    event: CustodyEvent | str,
    *,
    at: datetime,
    actor_role: str,
    actor_id: str,
    commitment: str,
    details: Mapping[str, DetailValue] | None = None,
) -> bytes:
    """Build one custody entry as RFC 8785 canonical JSON bytes, ready to append to the log."""
    entry: dict[str, Any] = {
        "type": ENTRY_TYPE,
        "v": ENTRY_VERSION,
        "event": str(CustodyEvent(event)),
        "at": format_time(at),
        "actor_role": actor_role,
        "actor_id": actor_id,
        "commitment": commitment,
        "details": dict(details or {}),
    }
    _check_fields(entry)
    encoded: bytes = rfc8785.dumps(entry)
    return encoded


def parse_custody_entry(raw: bytes) -> dict[str, Any]:
    """Parse custody entry bytes, refusing anything that is not exactly its canonical form."""
    try:
        entry = json.loads(raw.decode("utf-8"), object_pairs_hook=_refuse_duplicate_keys)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CustodyEntryError(f"not valid UTF-8 JSON: {error}") from error
    if not isinstance(entry, dict):
        raise CustodyEntryError("not a JSON object")
    _check_fields(entry)
    try:
        canonical = rfc8785.dumps(entry)
    except rfc8785.CanonicalizationError as error:
        raise CustodyEntryError(f"cannot be canonicalised: {error}") from error
    if canonical != raw:
        raise CustodyEntryError("not in RFC 8785 canonical form")
    return entry


def _refuse_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise CustodyEntryError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _check_fields(entry: Mapping[str, Any]) -> None:
    if set(entry) != _FIELDS:
        missing = sorted(_FIELDS - set(entry))
        extra = sorted(set(entry) - _FIELDS)
        raise CustodyEntryError(f"wrong fields (missing {missing}, unexpected {extra})")
    if entry["type"] != ENTRY_TYPE:
        raise CustodyEntryError(f"type must be {ENTRY_TYPE!r}")
    # bool is an int in Python; the version must be the integer itself.
    if type(entry["v"]) is not int or entry["v"] != ENTRY_VERSION:
        raise CustodyEntryError(f"unsupported version {entry['v']!r}")
    if entry["event"] not in {str(event) for event in CustodyEvent}:
        raise CustodyEntryError(f"unknown event {entry['event']!r}")
    if not isinstance(entry["at"], str) or not _RFC3339_UTC.fullmatch(entry["at"]):
        raise CustodyEntryError("time must be RFC 3339 in UTC ending in 'Z'")
    try:
        datetime.fromisoformat(entry["at"])
    except ValueError as error:
        raise CustodyEntryError(f"time is not a real date and time: {error}") from error
    for name in ("actor_role", "actor_id"):
        if not isinstance(entry[name], str) or not entry[name]:
            raise CustodyEntryError(f"{name} must be a non-empty string")
    if not isinstance(entry["commitment"], str) or not _HEX64.fullmatch(entry["commitment"]):
        raise CustodyEntryError("commitment must be 64 lowercase hexadecimal characters")
    details = entry["details"]
    if not isinstance(details, dict):
        raise CustodyEntryError("details must be an object")
    for key, value in details.items():
        if not isinstance(value, str | int | bool):
            raise CustodyEntryError(f"detail {key!r} must be a string, integer or boolean")
