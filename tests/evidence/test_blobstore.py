"""The encrypted blob store: hashes, the age recovery path, tampering, sweeping, limits."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from amparo.evidence.age import AgeError, format_identity_file, generate_identity
from amparo.evidence.blobstore import (
    BlobStore,
    BlobStoreError,
    BlobTooLargeError,
    DirectoryBlobStore,
    IntegrityError,
    InvalidBlobIdError,
    UnknownBlobError,
)


@pytest.fixture
def keys() -> tuple[str, str]:
    return generate_identity()


@pytest.fixture
def store(tmp_path: Path, keys: tuple[str, str]) -> DirectoryBlobStore:
    identity, recipient = keys
    return DirectoryBlobStore(tmp_path / "store", [recipient], [identity])


def all_files(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


@pytest.mark.parametrize("size", [0, 1, 65536, 1024 * 1024, 3 * 1024 * 1024 + 17])
def test_round_trip_and_hashes_equal_hashlib(store: DirectoryBlobStore, size: int) -> None:
    original = os.urandom(size)
    result = store.ingest(io.BytesIO(original))
    assert result.size == size
    assert result.sha256 == hashlib.sha256(original).hexdigest()
    assert result.sha512 == hashlib.sha512(original).hexdigest()
    assert store.metadata(result.id) == result
    with store.open(result.id, expected_sha256=result.sha256) as reader:
        assert reader.read() == original
    store.fixity(result.id)
    assert list(store.ids()) == [result.id]


def test_the_store_satisfies_the_blob_store_interface(store: DirectoryBlobStore) -> None:
    interface: BlobStore = store
    assert interface.ingest(io.BytesIO(b"x")).size == 1


def test_stored_files_hold_no_plaintext(store: DirectoryBlobStore) -> None:
    original = b"the observer saw the vehicle stop at 14:02 " * 1000
    result = store.ingest(io.BytesIO(original))
    for path in store.root.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            assert b"observer" not in content
            assert result.sha256.encode() not in content


def test_age_tool_recovers_a_stored_blob(
    store: DirectoryBlobStore, keys: tuple[str, str], tmp_path: Path
) -> None:
    age_tool = shutil.which("age")
    assert age_tool, "the age command-line tool is not installed (make system-deps installs it)"
    identity_file = tmp_path / "identity.txt"
    identity_file.write_text(format_identity_file(keys[0]))
    original = os.urandom(300_000)
    result = store.ingest(io.BytesIO(original))
    recovered = subprocess.run(
        [age_tool, "-d", "-i", str(identity_file), str(store.path_of(result.id))],
        capture_output=True,
        check=True,
    )
    assert recovered.stdout == original


def test_reads_in_small_pieces_verify_at_the_end(store: DirectoryBlobStore) -> None:
    original = os.urandom(200_000)
    result = store.ingest(io.BytesIO(original))
    pieces = []
    with store.open(result.id) as reader:
        assert reader.read(0) == b""
        while piece := reader.read(4096):
            pieces.append(piece)
    assert b"".join(pieces) == original


def test_wrong_expected_hash_raises_at_the_end(store: DirectoryBlobStore) -> None:
    result = store.ingest(io.BytesIO(b"photo bytes"))
    with (
        store.open(result.id, expected_sha256="0" * 64) as reader,
        pytest.raises(IntegrityError, match=f"blob {result.id}: SHA-256 .* expected"),
    ):
        reader.read()


def flip_byte(path: Path, position: int) -> None:
    data = bytearray(path.read_bytes())
    data[position] ^= 0x01
    path.chmod(0o600)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("where", [0.0, 0.3, 0.6, 0.999])
def test_a_tampered_blob_fails_fixity(store: DirectoryBlobStore, where: float) -> None:
    result = store.ingest(io.BytesIO(os.urandom(150_000)))
    path = store.path_of(result.id)
    flip_byte(path, int(where * path.stat().st_size))
    with pytest.raises(IntegrityError, match=result.id):
        store.fixity(result.id)


def test_a_truncated_blob_fails_fixity(store: DirectoryBlobStore) -> None:
    result = store.ingest(io.BytesIO(os.urandom(200_000)))
    path = store.path_of(result.id)
    path.chmod(0o600)
    with path.open("r+b") as file:
        file.truncate(path.stat().st_size - 1000)
    with pytest.raises(IntegrityError, match=r"truncated|altered"):
        store.fixity(result.id)


def test_a_swapped_blob_fails_fixity(store: DirectoryBlobStore) -> None:
    # Both files are valid age files for the store's key; only the record tells them apart.
    first = store.ingest(io.BytesIO(b"first original"))
    second = store.ingest(io.BytesIO(b"other original"))
    first_path = store.path_of(first.id)
    first_path.chmod(0o600)
    shutil.copyfile(store.path_of(second.id), first_path)
    with pytest.raises(IntegrityError, match=f"blob {first.id}: SHA-256"):
        store.fixity(first.id)


def test_a_tampered_metadata_record_is_refused(store: DirectoryBlobStore) -> None:
    result = store.ingest(io.BytesIO(b"x" * 1000))
    flip_byte(store.root / "meta" / f"{result.id}.json.age", -1)
    with pytest.raises(IntegrityError, match="metadata record"):
        store.metadata(result.id)


@pytest.mark.parametrize(
    "bad_id",
    ["../../etc/passwd", "", "A" * 32, "0" * 31, "0" * 33, "0" * 31 + "/", "0" * 32 + "\n"],
)
def test_blob_ids_are_validated(store: DirectoryBlobStore, bad_id: str) -> None:
    for operation in (store.open, store.metadata, store.fixity, store.path_of):
        with pytest.raises(InvalidBlobIdError):
            operation(bad_id)


def test_unknown_blob_is_named(store: DirectoryBlobStore) -> None:
    with pytest.raises(UnknownBlobError, match="0" * 32):
        store.metadata("0" * 32)
    with pytest.raises(UnknownBlobError):
        store.path_of("0" * 32)


def test_max_bytes_refuses_and_leaves_nothing(store: DirectoryBlobStore) -> None:
    before = all_files(store.root)
    with pytest.raises(BlobTooLargeError, match="limit of 1000000 bytes; nothing was saved"):
        store.ingest(io.BytesIO(os.urandom(3 * 1024 * 1024)), max_bytes=1_000_000)
    assert all_files(store.root) == before
    assert store.ingest(io.BytesIO(b"y" * 1_000_000), max_bytes=1_000_000).size == 1_000_000


def test_a_failing_upload_stream_leaves_nothing(store: DirectoryBlobStore) -> None:
    class BrokenUpload(io.RawIOBase):
        sent = 0

        def readable(self) -> bool:
            return True

        def read(self, size: int = -1, /) -> bytes:
            self.sent += 1
            if self.sent > 3:
                raise ConnectionResetError("client went away")
            return os.urandom(1024 * 1024)

    with pytest.raises(ConnectionResetError):
        store.ingest(BrokenUpload())  # type: ignore[arg-type]
    assert all_files(store.root) == []
    assert list(store.ids()) == []


def test_sweep_removes_partials_and_sets_unrecorded_blobs_aside(
    store: DirectoryBlobStore, keys: tuple[str, str]
) -> None:
    kept = store.ingest(io.BytesIO(b"kept"))
    (store.root / "tmp" / ("a" * 32 + ".age.partial")).write_bytes(b"half an upload")
    (store.root / "tmp" / ("b" * 32 + ".json.age.partial")).write_bytes(b"half a record")
    (store.root / "blobs" / ("c" * 32 + ".age")).write_bytes(b"renamed, never recorded")
    assert store.sweep() == 3
    # A blob without metadata is never deleted: it may be an original whose record was lost.
    assert all_files(store.root) == [
        f"blobs/{kept.id}.age",
        f"meta/{kept.id}.json.age",
        "quarantine/" + "c" * 32 + ".age",
    ]
    assert (store.root / "quarantine" / ("c" * 32 + ".age")).read_bytes() == (
        b"renamed, never recorded"
    )
    assert list(store.ids()) == [kept.id]
    (store.root / "tmp" / ("d" * 32 + ".age.partial")).write_bytes(b"left by a crash")
    DirectoryBlobStore(store.root, [keys[1]], [keys[0]])  # swept at start-up
    assert not list((store.root / "tmp").iterdir())


def test_sweep_leaves_an_ingest_in_progress_alone(
    store: DirectoryBlobStore, keys: tuple[str, str]
) -> None:
    release = threading.Event()
    started = threading.Event()

    class SlowUpload(io.RawIOBase):
        pieces = 0

        def readable(self) -> bool:
            return True

        def read(self, size: int = -1, /) -> bytes:
            self.pieces += 1
            if self.pieces == 2:
                started.set()
                assert release.wait(10)
            return b"z" * 1000 if self.pieces <= 3 else b""

    results = []
    worker = threading.Thread(target=lambda: results.append(store.ingest(SlowUpload())))  # type: ignore[arg-type]
    worker.start()
    assert started.wait(10)
    # Another process starting up sweeps the same store while the upload is under way.
    other = DirectoryBlobStore(store.root, [keys[1]], [keys[0]])
    assert other.sweep() == 0
    release.set()
    worker.join(10)
    assert results, "the ingest in progress failed"
    assert results[0].size == 3000
    other.fixity(results[0].id)


def test_store_without_identity_stores_but_cannot_read(
    tmp_path: Path, keys: tuple[str, str]
) -> None:
    write_only = DirectoryBlobStore(tmp_path / "store", [keys[1]])
    result = write_only.ingest(io.BytesIO(b"uploaded from the field"))
    with pytest.raises(BlobStoreError, match="without an identity"):
        write_only.open(result.id)
    DirectoryBlobStore(tmp_path / "store", [keys[1]], [keys[0]]).fixity(result.id)


def test_bad_recipient_is_refused_at_construction(tmp_path: Path) -> None:
    with pytest.raises(AgeError):
        DirectoryBlobStore(tmp_path / "store", ["age1notakey"])
    with pytest.raises(ValueError, match="at least one"):
        DirectoryBlobStore(tmp_path / "store", [])


def test_blobs_are_read_only_and_ids_are_distinct(store: DirectoryBlobStore) -> None:
    results = [store.ingest(io.BytesIO(b"same bytes")) for _ in range(3)]
    assert len({result.id for result in results}) == 3
    assert sorted(store.ids()) == sorted(result.id for result in results)
    for result in results:
        assert store.path_of(result.id).stat().st_mode & 0o777 == 0o400


def chunks(data: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def test_short_reads_from_the_upload_are_handled(store: DirectoryBlobStore) -> None:
    original = os.urandom(500_000)

    class Trickle(io.RawIOBase):
        def __init__(self) -> None:
            self.pieces = chunks(original, 777)

        def readable(self) -> bool:
            return True

        def read(self, size: int = -1, /) -> bytes:
            return next(self.pieces, b"")

    result = store.ingest(Trickle())  # type: ignore[arg-type]
    assert result.sha256 == hashlib.sha256(original).hexdigest()
    with store.open(result.id) as reader:
        assert reader.read() == original


FULL_DISK_CHILD = """
import io, json, os, subprocess, sys
from pathlib import Path
from amparo.evidence.blobstore import DirectoryBlobStore, StorageFullError

mount_point, recipient = Path(sys.argv[1]), sys.argv[2]
subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount_point)], check=True)
store = DirectoryBlobStore(mount_point / "store", [recipient])
first = store.ingest(io.BytesIO(b"fits"))
report = {"first": first.id}
try:
    store.ingest(io.BytesIO(os.urandom(4 * 1024 * 1024)))
    report["error"] = None
except StorageFullError as error:
    report["error"] = str(error)
report["files"] = sorted(
    str(path.relative_to(mount_point)) for path in mount_point.rglob("*") if path.is_file()
)
report["after"] = store.ingest(io.BytesIO(b"still works")).size
print(json.dumps(report))
"""


def test_a_full_disk_is_reported_and_leaves_nothing(tmp_path: Path, keys: tuple[str, str]) -> None:
    # A 2 MiB tmpfs in a private mount namespace is a real disk that fills up.
    unshare = shutil.which("unshare")
    if unshare is None or subprocess.run([unshare, "-rm", "true"], capture_output=True).returncode:
        pytest.skip("unshare cannot create a private mount namespace here")
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    repository = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [unshare, "-rm", sys.executable, "-c", FULL_DISK_CHILD, str(mount_point), keys[1]],
        capture_output=True,
        cwd=repository,
        env={**os.environ, "PYTHONPATH": str(repository)},
    )
    assert result.returncode == 0, result.stderr.decode()
    report = json.loads(result.stdout)
    assert report["error"] == (
        "the evidence store is out of disk space; nothing was saved; free space and try again"
    )
    first = report["first"]
    assert report["files"] == [f"store/blobs/{first}.age", f"store/meta/{first}.json.age"]
    assert report["after"] == len(b"still works")
