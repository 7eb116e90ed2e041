from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import tracemalloc
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from amparo.evidence import bagit, bundle, note
from amparo.evidence.custody import commitment, parse_custody_entry
from amparo.evidence.store import EvidenceStore
from amparo.evidence.verify import verify_bundle
from amparo.evidence.witness import Witness

ORIGIN = "legal-aid.example/evidence"
ORIGINALS = {
    "door photo.jpg": b"\xff\xd8\xff" + os.urandom(3000),
    "notes.txt": b"Observed at 14:02, two vehicles; narrative kept apart.\n",
    "../../escape%0A.wav": os.urandom(70_000),
}


@dataclass
class BuiltBundle:
    """A store with three originals exported to a bag, and the keys a verifier needs."""

    store_dir: Path
    bag: Path
    log_vkey: str
    witness_vkeys: list[str]
    item_ids: list[str]


def build_bundle(base: Path, *, witnesses: int = 2, zip_too: bool = False) -> BuiltBundle:
    """Create a store, ingest ORIGINALS, log a few events, and export them with witnesses."""
    store_dir = base / "store"
    store, log_vkey = EvidenceStore.init(store_dir, ORIGIN)
    local_witnesses = []
    for number in range(witnesses):
        skey, _vkey = note.generate_cosignature_key(f"witness-{number}.example")
        local_witnesses.append(Witness(base / f"witness-{number}", skey))
    with store:
        item_ids = []
        for name, content in ORIGINALS.items():
            item = store.ingest(
                io.BytesIO(content),
                filename=name,
                media_type="application/octet-stream",
                actor_role="observer",
                actor_id="u-1",
            )
            item_ids.append(item.id)
        store.record(item_ids[0], "viewed", "attorney", "u-2", {"reason": "review"})
        # A witness that saw an earlier checkpoint demands a consistency proof for the next.
        store.checkpoint()
        for witness in local_witnesses:
            store.cosign(witness)
        store.record(item_ids[1], "downloaded", "attorney", "u-2", None)
        bag = store.bundle(item_ids, base / "bag", witnesses=local_witnesses)
        if zip_too:
            store.bundle(item_ids, base / "bag.zip", witnesses=local_witnesses, zip=True)
    return BuiltBundle(store_dir, bag, log_vkey, [w.vkey for w in local_witnesses], item_ids)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> BuiltBundle:
    return build_bundle(tmp_path_factory.mktemp("bundle"), zip_too=True)


def test_bag_has_the_documented_layout(built: BuiltBundle) -> None:
    top = sorted(path.name for path in built.bag.iterdir())
    assert top == [
        "bag-info.txt",
        "bag-signature.txt",
        "bagit.txt",
        "data",
        "manifest-sha256.txt",
        "manifest-sha512.txt",
        "tagmanifest-sha256.txt",
        "tagmanifest-sha512.txt",
    ]
    assert (built.bag / "bagit.txt").read_text() == (
        "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
    )
    for relative in (
        "data/checkpoint.txt",
        "data/keys/log.vkey",
        "data/keys/witnesses.vkey",
        "data/HOW_TO_VERIFY.txt",
    ):
        assert (built.bag / relative).is_file(), relative
    assert (built.bag / "data/keys/log.vkey").read_text().strip() == built.log_vkey
    assert (built.bag / "data/keys/witnesses.vkey").read_text().split() == built.witness_vkeys
    assert "sha256sum -c manifest-sha256.txt" in (built.bag / "data/HOW_TO_VERIFY.txt").read_text()


def test_originals_are_the_exact_decrypted_bytes_under_safe_names(built: BuiltBundle) -> None:
    exported = sorted((built.bag / "data/originals").iterdir())
    assert len(exported) == len(ORIGINALS)
    by_content = {path.read_bytes(): path.name for path in exported}
    for name, content in ORIGINALS.items():
        assert content in by_content, name
        assert by_content[content].endswith("-" + bundle.safe_filename(name))
    for path in exported:
        assert path.resolve().parent == (built.bag / "data/originals").resolve()
        assert all(ch.isalnum() or ch in "._-" for ch in path.name)


def test_payload_oxum_counts_every_payload_byte_and_file(built: BuiltBundle) -> None:
    info = dict(bagit.parse_bag_info((built.bag / "bag-info.txt").read_text()))
    files = bagit.payload_files(built.bag)
    octets = sum((built.bag / path).stat().st_size for path in files)
    assert info["Payload-Oxum"] == f"{octets}.{len(files)}"
    assert info["Source-Organization"] == ORIGIN
    assert info["External-Identifier"] == "bag"


@pytest.mark.parametrize(
    ("tool", "manifest"),
    [
        ("sha256sum", "manifest-sha256.txt"),
        ("sha512sum", "manifest-sha512.txt"),
        ("sha256sum", "tagmanifest-sha256.txt"),
        ("sha512sum", "tagmanifest-sha512.txt"),
    ],
)
def test_coreutils_check_the_manifests(built: BuiltBundle, tool: str, manifest: str) -> None:
    result = subprocess.run(
        [tool, "--strict", "-c", manifest], cwd=built.bag, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    listed = (built.bag / manifest).read_text().count("\n")
    assert result.stdout.count(": OK") == listed


def test_sha256sum_notices_a_changed_original(tmp_path: Path, built: BuiltBundle) -> None:
    bag = shutil.copytree(built.bag, tmp_path / "bag")
    original = next((bag / "data/originals").iterdir())
    original.write_bytes(original.read_bytes() + b"x")
    result = subprocess.run(
        ["sha256sum", "-c", "manifest-sha256.txt"], cwd=bag, capture_output=True
    )
    assert result.returncode != 0


def test_metadata_lets_a_verifier_recompute_each_commitment(built: BuiltBundle) -> None:
    for path in sorted((built.bag / "data/metadata").iterdir()):
        record = json.loads(path.read_text())
        original = built.bag / record["original"]
        digest = hashlib.sha256(original.read_bytes()).hexdigest()
        assert record["sha256"] == digest
        expected = commitment(bytes.fromhex(record["nonce"]), digest)
        assert record["custody_entries"]
        for index in record["custody_entries"]:
            entry = parse_custody_entry((built.bag / f"data/custody/{index}.json").read_bytes())
            assert entry["commitment"] == expected
            assert digest not in json.dumps(entry)
            assert (built.bag / f"data/receipts/{index}.tlog-proof").is_file()


def test_custody_files_hold_the_exact_log_entries(built: BuiltBundle) -> None:
    from amparo.evidence.merkle import MerkleLog

    with MerkleLog.open(built.store_dir / "log") as log:
        for path in (built.bag / "data/custody").iterdir():
            assert path.read_bytes() == log.entry(int(path.stem))


def test_bag_signature_covers_both_tag_manifests(built: BuiltBundle) -> None:
    text = note.open((built.bag / "bag-signature.txt").read_text(), [built.log_vkey])
    lines = text.splitlines()
    assert lines[0] == "amparo bag signature v1"
    assert lines[1] == "bag bag"
    for algorithm in ("sha256", "sha512"):
        name = f"tagmanifest-{algorithm}.txt"
        digest = hashlib.sha256((built.bag / name).read_bytes()).hexdigest()
        assert f"{name} sha256:{digest}" in lines


def test_the_bundle_verifies_as_a_directory_and_as_a_zip(built: BuiltBundle) -> None:
    for path in (built.bag, built.bag.with_name("bag.zip")):
        report = verify_bundle(path, built.log_vkey, built.witness_vkeys)
        assert report.originals == len(ORIGINALS)
        assert report.witnesses_cosigned == 2


def test_zip_holds_one_top_level_folder_named_after_the_bag(built: BuiltBundle) -> None:
    with zipfile.ZipFile(built.bag.with_name("bag.zip")) as archive:
        names = archive.namelist()
    assert {name.split("/", 1)[0] for name in names} == {"bag"}
    assert "bag/bagit.txt" in names
    assert not list(built.bag.parent.glob(".bundle-*")), "the scratch directory was left behind"


def test_export_is_logged_after_the_bundle_is_written(built: BuiltBundle) -> None:
    with EvidenceStore.open(built.store_dir) as store:
        item = store.item(built.item_ids[0])
        last = parse_custody_entry(store.log.entry(item.custody_entries[-1]))
    assert last["event"] == "exported"
    assert last["details"] == {"bundle": "bag.zip".removesuffix(".zip")}
    bundled = json.loads((built.bag / f"data/metadata/{item.id}.json").read_text())
    assert item.custody_entries[-1] not in bundled["custody_entries"]


def test_refuses_an_existing_output_path(tmp_path: Path, built: BuiltBundle) -> None:
    with EvidenceStore.open(built.store_dir) as store, pytest.raises(ValueError, match="exists"):
        store.bundle(built.item_ids[:1], built.bag)


def _signed_parts(tmp_path: Path) -> dict[str, object]:
    skey, vkey = note.generate_key("log.example")
    return {
        "bag_name": "b",
        "entries": [],
        "checkpoint_note": "x\n",
        "log_vkey": vkey,
        "log_skey": skey,
        "witness_vkeys": [],
        "source_organization": "log.example",
        "created": datetime.now(UTC),
    }


def test_a_decrypted_original_that_differs_from_its_record_aborts_the_export(
    tmp_path: Path,
) -> None:
    wrong = bundle.BundleOriginal(
        item_id="a" * 32,
        filename="x.bin",
        metadata={},
        sha256=hashlib.sha256(b"expected").hexdigest(),
        open_plaintext=lambda: io.BytesIO(b"something else"),
    )
    with pytest.raises(bundle.BundleError, match="does not match its recorded SHA-256"):
        bundle.write_bundle(tmp_path / "bag", originals=[wrong], **_signed_parts(tmp_path))  # type: ignore[arg-type]
    assert not (tmp_path / "bag").exists()


@pytest.mark.parametrize(
    ("name", "safe"),
    [("door photo.jpg", "door_photo.jpg"), ("../../etc/passwd", "passwd"), ("...", "original")],
)
def test_safe_filename(name: str, safe: str) -> None:
    assert bundle.safe_filename(name) == safe


def test_manifest_paths_are_percent_encoded_and_round_trip() -> None:
    digests = {"data/a%b\nc": "0" * 64, "data/plain": "1" * 64}
    text = bagit.format_manifest(digests)
    assert "data/a%25b%0Ac" in text
    assert bagit.parse_manifest(text, "manifest-sha256.txt", "sha256") == digests


def test_exporting_streams_originals_in_chunks(tmp_path: Path) -> None:
    size = 48 * 1024 * 1024
    store, _vkey = EvidenceStore.init(tmp_path / "store", ORIGIN)
    source = tmp_path / "big.bin"
    with source.open("wb") as out:
        for _ in range(size // (1024 * 1024)):
            out.write(os.urandom(1024 * 1024))
    with store, source.open("rb") as stream:
        item = store.ingest(
            stream, filename="big.bin", media_type="video/mp4", actor_role="o", actor_id="u"
        )
        tracemalloc.start()
        try:
            bag = store.bundle([item.id], tmp_path / "bag")
            _current, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    exported = bag / f"data/originals/{item.id}-big.bin"
    assert exported.stat().st_size == size
    assert bagit.hash_file(exported).sha256 == item.sha256
    assert peak < size // 3, f"peak Python memory {peak} bytes for a {size}-byte original"


def test_checkpoint_is_not_re_signed_while_the_log_is_unchanged(tmp_path: Path) -> None:
    store, vkey = EvidenceStore.init(tmp_path / "store", ORIGIN)
    with store:
        item = store.ingest(
            io.BytesIO(b"x"), filename="x", media_type="text/plain", actor_role="o", actor_id="u"
        )
        first = store.checkpoint()
        assert store.checkpoint() == first
        index = store.record(item.id, "viewed", "attorney", "u-2")
        assert index == item.custody_entries[-1] + 1
        assert store.item(item.id).custody_entries == (*item.custody_entries, index)
        second = store.checkpoint()
    assert second != first
    assert note.open(second, [vkey]).splitlines()[1] == "2"


def test_store_fixity_reports_a_catalogue_that_no_longer_matches(tmp_path: Path) -> None:
    store, _vkey = EvidenceStore.init(tmp_path / "store", ORIGIN)
    with store:
        item = store.ingest(
            io.BytesIO(b"x"), filename="x", media_type="text/plain", actor_role="o", actor_id="u"
        )
        assert store.fixity() == []
        record = tmp_path / "store/items" / f"{item.id}.json"
        record.write_text(record.read_text().replace(item.nonce, "00" * 32))
        problems = store.fixity()
    assert problems == [f"{item.id}: custody entry 0 names another item"]


def test_store_refuses_unknown_events(tmp_path: Path) -> None:
    store, _vkey = EvidenceStore.init(tmp_path / "store", ORIGIN)
    with store:
        item = store.ingest(
            io.BytesIO(b"x"), filename="x", media_type="text/plain", actor_role="o", actor_id="u"
        )
        with pytest.raises(ValueError, match="is not a valid CustodyEvent"):
            store.record(item.id, "deleted", "o", "u")
        assert store.log.size == 1


def test_ingest_refuses_an_original_over_the_limit(tmp_path: Path) -> None:
    from amparo.evidence.blobstore import BlobTooLargeError

    store, _vkey = EvidenceStore.init(tmp_path / "store", ORIGIN)
    with store:
        with pytest.raises(BlobTooLargeError):
            store.ingest(
                io.BytesIO(b"x" * 101),
                filename="x",
                media_type="text/plain",
                actor_role="o",
                actor_id="u",
                max_bytes=100,
            )
        assert store.items() == []
        assert store.log.size == 0
