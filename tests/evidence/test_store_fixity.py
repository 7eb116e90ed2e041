"""EvidenceStore.fixity re-checks the custody log itself, not only the originals."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from amparo.evidence.merkle import leaf_hash, node_hash
from amparo.evidence.store import EvidenceStore

ORIGIN = "legal-aid.example/evidence"


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    store, _vkey = EvidenceStore.init(tmp_path / "store", ORIGIN)
    with store:
        first = store.ingest(
            io.BytesIO(b"photo bytes"),
            filename="a.jpg",
            media_type="image/jpeg",
            actor_role="observer",
            actor_id="u-1",
        )
        store.record(first.id, "viewed", "attorney", "u-2", None)
        store.checkpoint()
        store.record(first.id, "downloaded", "attorney", "u-7", None)
        assert store.fixity() == []
    return tmp_path / "store"


def rewrite_entries(store_dir: Path, old: bytes, new: bytes) -> None:
    entries = store_dir / "log" / "entries"
    content = entries.read_bytes()
    assert content.count(old) == 1
    entries.write_bytes(content.replace(old, new))


def test_a_rewritten_custody_entry_fails_fixity(store_dir: Path) -> None:
    # Same length, still canonical JSON, same commitment: only the log's hashes notice.
    rewrite_entries(store_dir, b'"actor_id":"u-2"', b'"actor_id":"u-9"')
    with EvidenceStore.open(store_dir) as store:
        problems = store.fixity()
    assert problems[0] == "custody log entry 1 does not match the hash the log recorded for it"
    assert "do not match the signed checkpoint of size 2" in problems[1]


def test_rewritten_log_hashes_fail_fixity_against_the_signed_checkpoint(
    store_dir: Path,
) -> None:
    rewrite_entries(store_dir, b'"actor_id":"u-2"', b'"actor_id":"u-9"')
    # Recompute the stored hashes of the first two entries as someone rewriting history would:
    # records 0 and 1 are their leaf hashes, record 2 the node above them.
    with EvidenceStore.open(store_dir) as store:
        rewritten = store.log.entry(1)
    hashes = store_dir / "log" / "hashes"
    records = bytearray(hashes.read_bytes())
    records[32:64] = leaf_hash(rewritten)
    records[64:96] = node_hash(bytes(records[0:32]), bytes(records[32:64]))
    hashes.write_bytes(bytes(records))
    with EvidenceStore.open(store_dir) as store:
        problems = store.fixity()
    assert any("signed checkpoint" in problem for problem in problems), problems


def test_init_makes_the_new_keys_durable_before_printing_the_log_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The log key is published as soon as init prints it; its private half must survive a
    # power cut, which needs the keys directory itself fsynced after the files are created.
    synced: list[str] = []
    real_fsync = os.fsync

    def recording_fsync(descriptor: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{descriptor}"))
        real_fsync(descriptor)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    store, _vkey = EvidenceStore.init(tmp_path / "store", ORIGIN)
    store.close()
    keys = tmp_path / "store" / "keys"
    private = [synced.index(str(keys / name)) for name in ("log.skey", "age-identity.txt")]
    assert str(keys) in synced[max(private) :], "the keys directory is fsynced after them"
    assert str(tmp_path / "store") in synced
