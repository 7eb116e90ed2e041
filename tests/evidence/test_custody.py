from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from amparo.evidence.custody import (
    CustodyEntryError,
    CustodyEvent,
    commitment,
    custody_entry,
    new_nonce,
    parse_custody_entry,
)

FILE_SHA256 = hashlib.sha256(b"a photo of a courthouse door").hexdigest()
AT = datetime(2025, 3, 1, 14, 30, 5, tzinfo=UTC)


def make_entry(**overrides: object) -> bytes:
    arguments: dict[str, object] = {
        "at": AT,
        "actor_role": "observer",
        "actor_id": "u-17",
        "commitment": commitment(b"\x01" * 32, FILE_SHA256),
        "details": {"filename": "door.jpg", "size": 1234, "redacted": False},
    }
    arguments.update(overrides)
    return custody_entry(CustodyEvent.INGESTED, **arguments)  # type: ignore[arg-type]


def test_nonce_is_32_fresh_random_bytes() -> None:
    first, second = new_nonce(), new_nonce()
    assert len(first) == 32
    assert first != second


def test_commitment_hashes_nonce_then_raw_digest() -> None:
    nonce = bytes(range(32))
    expected = hashlib.sha256(nonce + hashlib.sha256(b"x").digest()).hexdigest()
    assert commitment(nonce, hashlib.sha256(b"x").hexdigest()) == expected


def test_commitment_differs_per_nonce_for_the_same_file() -> None:
    assert commitment(b"\x00" * 32, FILE_SHA256) != commitment(b"\x01" * 32, FILE_SHA256)


@pytest.mark.parametrize(("nonce", "digest"), [(b"\x00" * 31, FILE_SHA256), (b"\0" * 32, "ab")])
def test_commitment_refuses_bad_input(nonce: bytes, digest: str) -> None:
    with pytest.raises(ValueError, match="must be"):
        commitment(nonce, digest)


def test_entry_is_canonical_json_with_version_and_type() -> None:
    raw = make_entry()
    decoded = json.loads(raw)
    assert decoded["type"] == "amparo.custody"
    assert decoded["v"] == 1
    assert decoded["event"] == "ingested"
    assert decoded["at"] == "2025-03-01T14:30:05Z"
    # Canonical form: sorted keys, no whitespace.
    assert raw == json.dumps(decoded, sort_keys=True, separators=(",", ":")).encode()


def test_entry_never_contains_the_raw_file_hash() -> None:
    assert FILE_SHA256.encode() not in make_entry()


def test_entry_keeps_microseconds() -> None:
    raw = make_entry(at=datetime(2025, 3, 1, 14, 30, 5, 120, tzinfo=UTC))
    assert json.loads(raw)["at"] == "2025-03-01T14:30:05.000120Z"


@pytest.mark.parametrize(
    "at",
    [
        datetime(2025, 3, 1, 14, 30),
        datetime(2025, 3, 1, 14, 30, tzinfo=timezone(timedelta(hours=2))),
    ],
)
def test_entry_refuses_times_that_are_not_utc(at: datetime) -> None:
    with pytest.raises(ValueError, match="UTC"):
        make_entry(at=at)


def test_entry_refuses_unknown_event() -> None:
    with pytest.raises(ValueError, match="deleted"):
        custody_entry(
            "deleted",
            at=AT,
            actor_role="observer",
            actor_id="u",
            commitment=commitment(b"\x01" * 32, FILE_SHA256),
        )


def test_parse_round_trips() -> None:
    raw = make_entry()
    parsed = parse_custody_entry(raw)
    assert parsed["details"] == {"filename": "door.jpg", "size": 1234, "redacted": False}
    assert parsed["actor_role"] == "observer"


@pytest.mark.parametrize(
    "mangle",
    [
        lambda raw: raw.replace(b",", b", ", 1),  # whitespace
        lambda raw: json.dumps(json.loads(raw), sort_keys=False).encode(),  # spacing and order
        lambda raw: raw + b"\n",
        lambda raw: raw.replace(b'"v":1', b'"v":1.0'),
        lambda raw: raw.replace(b'{"actor_id"', b'{"actor_id":"x","actor_id"'),
    ],
)
def test_parse_refuses_non_canonical_bytes(mangle) -> None:
    with pytest.raises(CustodyEntryError):
        parse_custody_entry(mangle(make_entry()))


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("type", "other", "type"),
        ("v", 2, "version"),
        ("v", True, "version"),
        ("event", "deleted", "event"),
        ("at", "2025-03-01T14:30:05+00:00", "RFC 3339"),
        ("at", "2025-13-01T14:30:05Z", "real date"),
        ("commitment", "AB" * 32, "commitment"),
        ("actor_id", "", "actor_id"),
        ("details", {"nested": {"a": 1}}, "detail"),
    ],
)
def test_parse_refuses_wrong_fields(field: str, value: object, message: str) -> None:
    entry = json.loads(make_entry())
    entry[field] = value
    raw = json.dumps(entry, sort_keys=True, separators=(",", ":")).encode()
    with pytest.raises(CustodyEntryError, match=message):
        parse_custody_entry(raw)


def test_parse_refuses_extra_field() -> None:
    entry = json.loads(make_entry())
    entry["sha256"] = FILE_SHA256
    raw = json.dumps(entry, sort_keys=True, separators=(",", ":")).encode()
    with pytest.raises(CustodyEntryError, match="unexpected"):
        parse_custody_entry(raw)
