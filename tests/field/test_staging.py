"""Field-upload staging at rest: sealed chunks, resumption, tampering, a full disk, the sweep."""

from __future__ import annotations

import errno
import hashlib
import io
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.urls import reverse
from hypothesis import given, settings
from hypothesis import strategies as st

from amparo.custody.evidence import evidence_store, forget_opened_stores
from amparo.evidence import blobstore
from amparo.field import staging, sync
from amparo.field.models import Attachment, Upload, UploadChunk
from tests.field.conftest import Event
from tests.field.factories import report_payload, stored_bytes
from tests.field.test_sync import Phone

pytestmark = pytest.mark.django_db

JPEG_HEAD = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"
CHUNK = 64 * 1024


@pytest.fixture(autouse=True)
def own_data_directory(tmp_path: Path) -> Iterator[Path]:
    """A store and a staging directory of this test's own, so scans see only its files."""
    forget_opened_stores()
    with override_settings(EVIDENCE_DIR=tmp_path / "data" / "evidence"):
        yield tmp_path / "data"
    forget_opened_stores()


@pytest.fixture
def phone(event: Event) -> Phone:
    return Phone(sync.issue_device_token(event.alice, "Alice's phone"))


def _marked_photo(marker: bytes, size: int = 3 * CHUNK + 500) -> bytes:
    return (JPEG_HEAD + marker * (size // len(marker) + 1))[:size]


def _begin(event: Event, phone: Phone, data: bytes) -> str:
    payload = report_payload(deployment=event.deployment.pk)
    phone.post("field:api_reports", payload)
    file_id = str(uuid.uuid4())
    described = {
        "report_id": payload["client_id"],
        "file_id": file_id,
        "sha256": hashlib.sha256(data).hexdigest(),
        "size": len(data),
        "filename": "photo.jpg",
    }
    assert phone.post("field:api_uploads", described).status_code == 200
    return file_id


def _staged_bytes() -> bytes:
    return b"".join(path.read_bytes() for path in sorted(sync.staging_directory().iterdir()))


def test_the_staging_file_never_holds_the_plaintext(event: Event, phone: Phone) -> None:
    marker = f"PLAINTEXT-MARKER-{uuid.uuid4().hex}".encode()
    data = _marked_photo(marker)
    file_id = _begin(event, phone, data)
    for offset in (0, CHUNK):
        assert phone.chunk(file_id, offset, data[offset : offset + CHUNK]).status_code == 200
    staged = _staged_bytes()
    assert len(staged) == 2 * (CHUNK + staging.RECORD_OVERHEAD)
    assert marker not in staged
    assert marker[:16] not in staged
    # The key that would open it is not kept in plain form either.
    upload = Upload.objects.get(client_file_id=file_id)
    key = staging.unwrap_upload_key(upload.client_file_id, upload.staging_key)
    assert key not in staged
    assert key.hex() not in upload.staging_key


def test_a_partial_upload_resumes_and_the_store_gets_the_exact_file(
    event: Event, phone: Phone
) -> None:
    data = _marked_photo(b"resume-me-", 3 * CHUNK + 77)
    file_id = _begin(event, phone, data)
    assert phone.chunk(file_id, 0, data[:CHUNK]).json()["received_bytes"] == CHUNK
    # A fresh process (new key cache, fresh connection) asks where to resume.
    state = Phone(phone.client.defaults["HTTP_AUTHORIZATION"].removeprefix("Bearer "))
    resumed = state.client.get(reverse("field:api_upload", kwargs={"file_id": file_id})).json()
    assert resumed["received_bytes"] == CHUNK
    # The second chunk's first attempt was cut off mid-write: a stray tail is on disk.
    with (sync.staging_directory() / f"{file_id}{staging.SEALED_SUFFIX}").open("ab") as stray:
        stray.write(os.urandom(1000))
    offset = CHUNK
    answer: dict[str, Any] = {}
    while offset < len(data):
        answer = state.chunk(file_id, offset, data[offset : offset + CHUNK]).json()
        offset = answer["received_bytes"]
    assert answer["confirmed"] is True
    attachment = Attachment.objects.get()
    assert attachment.sha256 == hashlib.sha256(data).hexdigest()
    assert stored_bytes(attachment) == data
    # Once ingested, staging and the key that opened it are gone.
    assert list(sync.staging_directory().iterdir()) == []
    assert Upload.objects.get(client_file_id=file_id).staging_key == ""


def test_tampered_staging_is_refused_at_completion(event: Event, phone: Phone) -> None:
    data = _marked_photo(b"tamper-", 2 * CHUNK + 10)
    file_id = _begin(event, phone, data)
    phone.chunk(file_id, 0, data[:CHUNK])
    phone.chunk(file_id, CHUNK, data[CHUNK : 2 * CHUNK])
    path = sync.staging_directory() / f"{file_id}{staging.SEALED_SUFFIX}"
    sealed = bytearray(path.read_bytes())
    sealed[staging.NONCE_BYTES + 100] ^= 0x01
    path.write_bytes(bytes(sealed))
    refused = phone.chunk(file_id, 2 * CHUNK, data[2 * CHUNK :])
    assert refused.status_code == 422
    assert "photo.jpg" in refused.json()["message"]
    assert "integrity check" in refused.json()["message"]
    assert "byte 0" in refused.json()["message"]
    assert refused.json()["received_bytes"] == 0
    assert not Attachment.objects.exists()
    assert not path.exists()
    assert not UploadChunk.objects.exists()
    # The phone sends it again and this time it is stored.
    offset = 0
    answer: dict[str, Any] = {}
    while offset < len(data):
        answer = phone.chunk(file_id, offset, data[offset : offset + CHUNK]).json()
        offset = answer["received_bytes"]
    assert answer["confirmed"] is True
    assert stored_bytes(Attachment.objects.get()) == data


def test_records_swapped_between_offsets_are_refused(event: Event, phone: Phone) -> None:
    data = _marked_photo(b"swap-", 2 * CHUNK)
    file_id = _begin(event, phone, data[:])
    phone.chunk(file_id, 0, data[:CHUNK])
    path = sync.staging_directory() / f"{file_id}{staging.SEALED_SUFFIX}"
    first = path.read_bytes()
    upload = Upload.objects.get(client_file_id=file_id)
    key = staging.unwrap_upload_key(upload.client_file_id, upload.staging_key)
    with pytest.raises(staging.StagingError, match="byte 65536 fails its AES-GCM"):
        staging.open_chunk(key, upload.client_file_id, staging.StagedChunk(CHUNK, CHUNK), first)


def test_a_full_disk_while_staging_answers_507_and_keeps_nothing_partial(
    event: Event, phone: Phone, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _marked_photo(b"full-", 2 * CHUNK)
    file_id = _begin(event, phone, data)
    assert phone.chunk(file_id, 0, data[:CHUNK]).status_code == 200
    path = sync.staging_directory() / f"{file_id}{staging.SEALED_SUFFIX}"
    size_before = path.stat().st_size
    real_pwrite = os.pwrite

    def half_then_full(descriptor: int, piece: Any, position: int) -> int:
        real_pwrite(descriptor, bytes(piece[:1000]), position)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "pwrite", half_then_full)
    full = phone.chunk(file_id, CHUNK, data[CHUNK:])
    assert full.status_code == 507
    assert full.json()["message"] == (
        "The server is out of storage space. Nothing was lost on your phone; "
        "it will try again later."
    )
    assert full.json()["retry_later"] is True
    assert "Retry-After" in full
    assert Upload.objects.get(client_file_id=file_id).received_bytes == CHUNK
    assert UploadChunk.objects.count() == 1
    assert path.stat().st_size == size_before
    monkeypatch.setattr(os, "pwrite", real_pwrite)
    assert phone.chunk(file_id, CHUNK, data[CHUNK:]).json()["confirmed"] is True
    assert stored_bytes(Attachment.objects.get()) == data


def test_a_full_evidence_store_at_completion_answers_507_then_finishes(
    event: Event, phone: Phone, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _marked_photo(b"store-full-", CHUNK + 5)
    file_id = _begin(event, phone, data)
    phone.chunk(file_id, 0, data[:CHUNK])
    items_before = len(evidence_store().items())
    real_init = blobstore._LockedTempFile.__init__

    def no_space(self: Any, directory: Path, name: str) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(directory / name))

    monkeypatch.setattr(blobstore._LockedTempFile, "__init__", no_space)
    full = phone.chunk(file_id, CHUNK, data[CHUNK:])
    assert full.status_code == 507
    assert "out of storage space" in full.json()["message"]
    assert not Attachment.objects.exists()
    assert len(evidence_store().items()) == items_before
    upload = Upload.objects.get(client_file_id=file_id)
    assert (upload.received_bytes, upload.attachment_id) == (len(data), None)
    monkeypatch.setattr(blobstore._LockedTempFile, "__init__", real_init)
    # The capture app asks for completion again once every byte is in.
    finished = phone.client.post(reverse("field:api_finish", kwargs={"file_id": file_id}))
    assert finished.json()["confirmed"] is True
    assert stored_bytes(Attachment.objects.get()) == data


def _age(path: Path, hours: float) -> None:
    then = time.time() - hours * 3600
    os.utime(path, (then, then))


def test_the_sweep_removes_only_abandoned_staging(event: Event, phone: Phone) -> None:
    data = _marked_photo(b"sweep-", 2 * CHUNK)
    fresh, abandoned, finished = (_begin(event, phone, data) for _ in range(3))
    for file_id in (fresh, abandoned):
        phone.chunk(file_id, 0, data[:CHUNK])
    phone.chunk(finished, 0, data[:CHUNK])
    phone.chunk(finished, CHUNK, data[CHUNK:])
    directory = sync.staging_directory()
    path = {
        file_id: directory / f"{file_id}{staging.SEALED_SUFFIX}"
        for file_id in (fresh, abandoned, finished)
    }
    _age(path[abandoned], 49)
    _age(path[fresh], 47)
    # What a crash between ingest and clean-up would leave, long after.
    path[finished].write_bytes(b"left over")
    _age(path[finished], 100)
    legacy_plaintext = directory / f"{uuid.uuid4()}{staging.PLAINTEXT_SUFFIX}"
    legacy_plaintext.write_bytes(data[:CHUNK])
    unclaimed_recent = directory / f"{uuid.uuid4()}{staging.SEALED_SUFFIX}"
    unclaimed_recent.write_bytes(b"x")
    unrelated = directory / "README"
    unrelated.write_text("not staging")
    stored = Attachment.objects.get()

    removed = sync.sweep_staging()

    assert sorted(removed) == sorted(
        [path[abandoned].name, path[finished].name, legacy_plaintext.name]
    )
    assert path[fresh].exists()
    assert unclaimed_recent.exists()
    assert unrelated.exists()
    assert Upload.objects.get(client_file_id=abandoned).received_bytes == 0
    assert Upload.objects.get(client_file_id=fresh).received_bytes == CHUNK
    assert Upload.objects.get(client_file_id=finished).attachment == stored
    assert stored_bytes(stored) == data
    # Idempotent: nothing more to remove, and the command says so.
    assert sync.sweep_staging() == []
    output = io.StringIO()
    call_command("sweepstaging", stdout=output)
    assert "0 staging file(s) removed (abandoned after 48 h)" in output.getvalue()
    # The abandoned upload starts again from byte 0 and still completes.
    assert phone.chunk(abandoned, 0, data[:CHUNK]).json()["received_bytes"] == CHUNK
    assert phone.chunk(abandoned, CHUNK, data[CHUNK:]).json()["confirmed"] is True


def test_the_abandonment_age_is_a_setting(event: Event, phone: Phone) -> None:
    data = _marked_photo(b"setting-", 2 * CHUNK)
    file_id = _begin(event, phone, data)
    phone.chunk(file_id, 0, data[:CHUNK])
    path = sync.staging_directory() / f"{file_id}{staging.SEALED_SUFFIX}"
    _age(path, 3)
    assert sync.sweep_staging() == []
    with override_settings(AMPARO_FIELD_STAGING_ABANDONED_HOURS=2):
        assert sync.sweep_staging() == [path.name]


def test_staging_lost_under_an_upload_makes_the_phone_start_again(
    event: Event, phone: Phone
) -> None:
    data = _marked_photo(b"lost-", 2 * CHUNK)
    file_id = _begin(event, phone, data)
    phone.chunk(file_id, 0, data[:CHUNK])
    (sync.staging_directory() / f"{file_id}{staging.SEALED_SUFFIX}").unlink()
    lost = phone.chunk(file_id, CHUNK, data[CHUNK:])
    assert (lost.status_code, lost.json()["received_bytes"]) == (409, 0)
    phone.chunk(file_id, 0, data[:CHUNK])
    assert phone.chunk(file_id, CHUNK, data[CHUNK:]).json()["confirmed"] is True


@settings(max_examples=40, deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=1, max_value=300), min_size=1, max_size=6),
    piece=st.integers(min_value=1, max_value=700),
    start=st.integers(min_value=0, max_value=2000),
)
def test_staged_plaintext_reads_back_from_any_position(
    tmp_path_factory: pytest.TempPathFactory, sizes: list[int], piece: int, start: int
) -> None:
    file_id = uuid.uuid4()
    key = os.urandom(32)
    plaintext = os.urandom(sum(sizes))
    path = tmp_path_factory.mktemp("staged") / "file"
    chunks, records, offset = [], [], 0
    for size in sizes:
        chunks.append(staging.StagedChunk(offset, size))
        records.append(staging.seal_chunk(key, file_id, offset, plaintext[offset : offset + size]))
        offset += size
    path.write_bytes(b"".join(records))
    assert path.stat().st_size == staging.sealed_length(chunks)
    with staging.open_plaintext(path, key, file_id, chunks) as reader:
        parts = []
        while block := reader.read(piece):
            parts.append(block)
        assert b"".join(parts) == plaintext
        reader.seek(min(start, len(plaintext)))
        assert reader.read() == plaintext[start:]
        reader.seek(0)
        assert reader.read(piece) == plaintext[:piece]
