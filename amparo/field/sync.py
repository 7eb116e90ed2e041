"""The capture app's sync: per-device tokens and resumable, verified, exactly-once uploads.

A file arrives as chunks, each with its own SHA-256, sealed (field/staging.py) and appended
in order to a staging file; no plaintext is written to disk. When the last byte is in, the
chunks are opened one at a time, the whole file is checked against the hash taken on the
phone, and the plaintext streams straight into the evidence store. Database constraints (one
upload per client file id, one chunk per offset, one attachment per client file id) make a
repeat change nothing.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import os
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from amparo.accounts.models import User
from amparo.accounts.roles import Role
from amparo.evidence.blobstore import StorageFullError
from amparo.field import staging
from amparo.field.models import Attachment, DeviceToken, Report, Upload, UploadChunk
from amparo.field.reports import AttachmentRejected, add_attachment, max_attachment_bytes

TOKEN_PREFIX = "amparo-device-"  # noqa: S105 -- a label, not a secret
MAX_CHUNK_BYTES = 4 * 1024 * 1024
_READ_PIECE = 64 * 1024


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_device_token(user: User, label: str) -> str:
    """Make a token for one phone; only its hash is kept, so it is shown once."""
    if user.role != Role.OBSERVER or not user.is_active:
        raise SyncError(403, _("Only active observers connect a phone for field reports."))
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    DeviceToken.objects.create(user=user, label=label.strip()[:100], token_hash=_hash_token(token))
    return token


def device_for_token(token: str) -> DeviceToken | None:
    """The live device a token belongs to, or None if unknown, revoked, or its owner is not."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    device = (
        DeviceToken.objects.select_related("user")
        .filter(token_hash=_hash_token(token), revoked_at__isnull=True)
        .first()
    )
    if device is None or not device.user.is_active or not device.user.within_access_window():
        return None
    DeviceToken.objects.filter(pk=device.pk).update(last_used_at=timezone.now())
    return device


def revoke_device(device: DeviceToken, by: User | None) -> None:
    if device.revoked_at is None:
        device.revoked_at = timezone.now()
        device.revoked_by = by
        device.save(update_fields=["revoked_at", "revoked_by"])


class SyncError(Exception):
    """A sync request that cannot be honoured: an HTTP status and a message for people."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra


def staging_directory() -> Path:
    directory = Path(settings.EVIDENCE_DIR).parent / "field-staging"
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    return directory


def _staging_path(upload: Upload) -> Path:
    return staging_directory() / f"{upload.client_file_id}{staging.SEALED_SUFFIX}"


def abandoned_after() -> timedelta:
    """How long an upload's staging may sit untouched before the sweep removes it."""
    return timedelta(hours=float(getattr(settings, "AMPARO_FIELD_STAGING_ABANDONED_HOURS", 48)))


@dataclass(frozen=True)
class UploadState:
    """What the phone needs to know: where to resume, or the receipt once confirmed."""

    client_file_id: str
    received_bytes: int
    size: int
    attachment: Attachment | None

    def as_json(self) -> dict[str, Any]:
        state: dict[str, Any] = {
            "file_id": self.client_file_id,
            "received_bytes": self.received_bytes,
            "size": self.size,
            "confirmed": self.attachment is not None,
        }
        if self.attachment is not None:
            state["receipt"] = receipt_of(self.attachment)
        return state


def receipt_of(attachment: Attachment) -> dict[str, Any]:
    return {
        "item_id": attachment.item_id,
        "custody_entry": attachment.receipt_index,
        "sha256": attachment.sha256,
        "size": attachment.size,
        "received_at": attachment.received_at.isoformat(),
    }


def _state(upload: Upload) -> UploadState:
    return UploadState(
        str(upload.client_file_id), upload.received_bytes, upload.declared_size, upload.attachment
    )


def _is_hex64(value: str) -> bool:
    return len(value) == 64 and all(c in "0123456789abcdef" for c in value)


def begin_upload(user: User, report: Report, description: dict[str, Any]) -> UploadState:
    """Start (or find again) the upload of one file; returns where to resume."""
    _sweep_once()
    try:
        file_id = uuid.UUID(str(description.get("file_id", "")))
    except ValueError:
        raise SyncError(400, _("The file has no valid id; the capture page gives one.")) from None
    sha256 = str(description.get("sha256", "")).lower()
    if not _is_hex64(sha256):
        raise SyncError(400, _("The file's SHA-256 must be 64 hexadecimal characters."))
    size = description.get("size")
    if not isinstance(size, int) or size <= 0:
        raise SyncError(400, _("The file's size must be a positive number of bytes."))
    if size > max_attachment_bytes():
        raise SyncError(413, _("The file is larger than the server accepts."))
    existing = Upload.objects.select_related("attachment").filter(client_file_id=file_id).first()
    if existing is None:
        if not report.authors.filter(pk=user.pk).exists():
            raise SyncError(403, _("Only the report's authors add files to it."))
        filename = str(description.get("filename") or "capture")[:200]
        metadata = description.get("capture_metadata") or {}
        if not isinstance(metadata, dict):
            raise SyncError(400, _("Capture metadata must be an object."))
        try:
            with transaction.atomic():
                existing = Upload.objects.create(
                    client_file_id=file_id,
                    report=report,
                    uploader=user,
                    declared_sha256=sha256,
                    declared_size=size,
                    filename=filename,
                    shows_injury=description.get("shows_injury") is True,
                    capture_metadata=metadata,
                )
        except IntegrityError:
            existing = Upload.objects.get(client_file_id=file_id)
    if (
        existing.uploader_id != user.pk
        or existing.report_id != report.pk
        or existing.declared_sha256 != sha256
        or existing.declared_size != size
    ):
        raise SyncError(409, _("This file id is already used for a different file."))
    return _state(existing)


def upload_for(user: User, file_id: uuid.UUID) -> Upload:
    upload = Upload.objects.select_related("attachment").filter(client_file_id=file_id).first()
    if upload is None or upload.uploader_id != user.pk:
        raise SyncError(404, _("No such upload; start it again from the phone."))
    return upload


def put_chunk(
    user: User, file_id: uuid.UUID, offset: int, sha256: str, body: IO[bytes], length: int
) -> UploadState:
    """Seal and append one verified chunk at `offset`; a chunk already confirmed changes nothing."""
    _sweep_once()
    sha256 = sha256.lower()
    if not _is_hex64(sha256):
        raise SyncError(400, _("Each chunk needs its SHA-256 in the X-Chunk-SHA256 header."))
    if length <= 0 or length > MAX_CHUNK_BYTES:
        raise SyncError(
            413,
            _("A chunk must hold between 1 byte and %(limit)d bytes.") % {"limit": MAX_CHUNK_BYTES},
        )
    staging_lost = False
    with transaction.atomic():
        upload = upload_for(user, file_id)
        upload = (
            Upload.objects.select_for_update(of=("self",))
            .select_related("attachment")
            .get(pk=upload.pk)
        )
        if offset < upload.received_bytes:
            known = UploadChunk.objects.filter(upload=upload, offset=offset, sha256=sha256).exists()
            if not known:
                raise SyncError(
                    409,
                    _("Those bytes are already in and differ from this chunk."),
                    received_bytes=upload.received_bytes,
                )
            return _state(upload)
        if offset > upload.received_bytes:
            raise SyncError(
                409,
                _("Send the chunk at the offset the server has reached."),
                received_bytes=upload.received_bytes,
            )
        if offset + length > upload.declared_size:
            raise SyncError(400, _("The chunk runs past the file's declared size."))
        plaintext = _read_verified(body, offset, sha256, length)
        key = _upload_key(upload)
        chunks_before = UploadChunk.objects.filter(upload=upload).count()
        position = staging.record_position(offset, chunks_before)
        if key is None or not _append_sealed(upload, key, position, offset, plaintext):
            # The staging file or its key is gone (swept, or the secret key changed).
            _restart_upload(upload)
            staging_lost = True
        else:
            UploadChunk.objects.create(upload=upload, offset=offset, size=length, sha256=sha256)
            upload.received_bytes = offset + length
            upload.save(update_fields=["received_bytes"])
    if staging_lost:
        raise SyncError(
            409,
            _("The server no longer has the part of this file sent earlier; send it again."),
            received_bytes=0,
        )
    if upload.received_bytes == upload.declared_size:
        return finish_upload(user, file_id)
    return _state(upload)


def _read_verified(body: IO[bytes], offset: int, sha256: str, length: int) -> bytes:
    # The chunk is held in memory (at most MAX_CHUNK_BYTES) so plaintext never reaches disk.
    received = bytearray()
    while len(received) < length:
        piece = body.read(min(_READ_PIECE, length - len(received)))
        if not piece:
            raise SyncError(400, _("The chunk ended early; send it again."))
        received += piece
    if hashlib.sha256(received).hexdigest() != sha256:
        raise SyncError(
            422,
            _("The chunk at byte %(offset)d does not match its SHA-256; send it again.")
            % {"offset": offset},
            received_bytes=offset,
        )
    return bytes(received)


def _upload_key(upload: Upload) -> bytes | None:
    """The upload's staging key, made on its first chunk; None if it can no longer be opened."""
    if upload.staging_key:
        try:
            return staging.unwrap_upload_key(upload.client_file_id, upload.staging_key)
        except staging.StagingError:
            return None
    if upload.received_bytes:
        return None  # bytes staged without a key come from a version that kept plaintext
    key, upload.staging_key = staging.new_upload_key(upload.client_file_id)
    upload.save(update_fields=["staging_key"])
    return key


def _append_sealed(
    upload: Upload, key: bytes, position: int, offset: int, plaintext: bytes
) -> bool:
    """Write the sealed chunk at `position`; False if the earlier records are not there."""
    record = staging.seal_chunk(key, upload.client_file_id, offset, plaintext)
    path = _staging_path(upload)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        if os.fstat(descriptor).st_size < position:
            return False
        # Bytes past `position` are left from a write whose transaction never committed.
        os.ftruncate(descriptor, position)
        try:
            view = memoryview(record)
            written = 0
            while written < len(view):
                written += os.pwrite(descriptor, view[written:], position + written)
            os.fsync(descriptor)
        except OSError:
            # Out of space or an I/O error: nothing of this chunk may count.
            with contextlib.suppress(OSError):
                os.ftruncate(descriptor, position)
            raise
    finally:
        os.close(descriptor)
    if position == 0:
        _fsync_directory(path.parent)
    return True


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _restart_upload(upload: Upload) -> None:
    """Forget what was staged: the phone sends the file again from byte 0 under a new key."""
    UploadChunk.objects.filter(upload=upload).delete()
    upload.received_bytes = 0
    upload.staging_key = ""
    upload.save(update_fields=["received_bytes", "staging_key"])
    _discard_staging_files(upload.client_file_id)


def _discard_staging_files(file_id: uuid.UUID) -> None:
    directory = Path(settings.EVIDENCE_DIR).parent / "field-staging"
    for suffix in (staging.SEALED_SUFFIX, staging.PLAINTEXT_SUFFIX):
        (directory / f"{file_id}{suffix}").unlink(missing_ok=True)


def _staged_chunks(upload: Upload) -> list[staging.StagedChunk]:
    return [
        staging.StagedChunk(offset, size)
        for offset, size in UploadChunk.objects.filter(upload=upload)
        .order_by("offset")
        .values_list("offset", "size")
    ]


def _open_staged(upload: Upload) -> io.BufferedReader:
    if not upload.staging_key:
        raise staging.StagingError(f"upload {upload.client_file_id}: no staging key is recorded")
    key = staging.unwrap_upload_key(upload.client_file_id, upload.staging_key)
    return staging.open_plaintext(
        _staging_path(upload), key, upload.client_file_id, _staged_chunks(upload)
    )


def _staged_sha256(upload: Upload) -> str:
    digest = hashlib.sha256()
    with _open_staged(upload) as staged:
        while piece := staged.read(1024 * 1024):
            digest.update(piece)
    return digest.hexdigest()


def finish_upload(user: User, file_id: uuid.UUID) -> UploadState:
    """Open the sealed chunks, check the whole file against the hash taken at capture, ingest."""
    _sweep_once()
    with transaction.atomic():
        upload = upload_for(user, file_id)
        upload = (
            Upload.objects.select_for_update(of=("self",))
            .select_related("attachment")
            .get(pk=upload.pk)
        )
        if upload.attachment is not None:
            return _state(upload)
        if upload.received_bytes != upload.declared_size:
            raise SyncError(
                409, _("The file is not complete yet."), received_bytes=upload.received_bytes
            )
        failure = ""
        try:
            if _staged_sha256(upload) != upload.declared_sha256:
                failure = _(
                    "%(file)s: the file received does not match the SHA-256 taken on the "
                    "phone; it was discarded and must be sent again."
                ) % {"file": upload.filename}
        except staging.StagingError as error:
            failure = _(
                "%(file)s: the part kept on the server failed its integrity check (%(check)s); "
                "it was discarded and must be sent again."
            ) % {"file": upload.filename, "check": str(error)}
        if failure:
            _restart_upload(upload)
    if failure:
        raise SyncError(422, failure, received_bytes=0)
    with transaction.atomic():
        upload = (
            Upload.objects.select_for_update(of=("self",))
            .select_related("attachment")
            .get(pk=upload.pk)
        )
        if upload.attachment is not None:
            return _state(upload)
        try:
            with _open_staged(upload) as staged:
                attachment = add_attachment(
                    upload.report,
                    user,
                    staged,
                    filename=upload.filename,
                    size=upload.declared_size,
                    shows_injury=upload.shows_injury,
                    client_file_id=upload.client_file_id,
                    capture_metadata=upload.capture_metadata,
                )
        except AttachmentRejected as error:
            raise SyncError(422, str(error)) from None
        except staging.StagingError as error:
            # Changed between the check and the ingest: nothing is attached; the phone retries.
            raise SyncError(
                422,
                _("%(file)s: the part kept on the server failed its integrity check (%(check)s).")
                % {"file": upload.filename, "check": str(error)},
            ) from None
        if attachment.sha256 != upload.declared_sha256:
            raise SyncError(
                422,
                _("%(file)s: the file stored does not match the SHA-256 taken on the phone.")
                % {"file": upload.filename},
            )
        upload.attachment = attachment
        upload.staging_key = ""
        upload.save(update_fields=["attachment", "staging_key"])
    _discard_staging_files(upload.client_file_id)
    return _state(upload)


# --- sweeping abandoned staging ------------------------------------------------------------

_swept_lock = threading.Lock()
_swept_directories: set[Path] = set()


def _sweep_once() -> None:
    """Sweep once per process, before its first upload request (so, at start-up).

    Called outside any transaction: the sweep locks upload rows one at a time.
    """
    directory = staging_directory()
    with _swept_lock:
        if directory in _swept_directories:
            return
        _swept_directories.add(directory)
    sweep_staging()


def sweep_staging(now: float | None = None) -> list[str]:
    """Remove staging that no live upload needs; return the names of the files removed.

    Removed: staging of uploads already ingested (the evidence store has the file), files no
    upload row claims, plaintext staging left by older versions, and staging untouched for
    longer than abandoned_after(), whose uploads then start again from byte 0. The evidence
    store and attachments are never touched. Running it again removes nothing more.
    """
    directory = Path(settings.EVIDENCE_DIR).parent / "field-staging"
    if not directory.is_dir():
        return []
    cutoff = (now if now is not None else time.time()) - abandoned_after().total_seconds()
    removed = []
    for path in sorted(directory.iterdir()):
        if path.suffix not in {staging.SEALED_SUFFIX, staging.PLAINTEXT_SUFFIX}:
            continue
        try:
            file_id = uuid.UUID(path.stem)
        except ValueError:
            continue
        if _sweep_one(path, file_id, cutoff):
            removed.append(path.name)
    return removed


def _sweep_one(path: Path, file_id: uuid.UUID, cutoff: float) -> bool:
    with transaction.atomic():
        upload = Upload.objects.select_for_update().filter(client_file_id=file_id).first()
        try:
            touched = path.stat().st_mtime
        except FileNotFoundError:
            return False
        plaintext = path.suffix == staging.PLAINTEXT_SUFFIX
        if upload is not None and upload.attachment_id is None:
            if not plaintext and touched >= cutoff:
                return False
            UploadChunk.objects.filter(upload=upload).delete()
            upload.received_bytes = 0
            upload.staging_key = ""
            upload.save(update_fields=["received_bytes", "staging_key"])
        elif upload is None and not plaintext and touched >= cutoff:
            return False  # perhaps a row whose transaction has not committed yet
        path.unlink(missing_ok=True)
    return True


def is_out_of_space(error: BaseException) -> bool:
    """Whether an error means the disk (or quota) is full, from any layer that writes."""
    if isinstance(error, StorageFullError):
        return True
    if isinstance(error, OSError) and error.errno in {errno.ENOSPC, errno.EDQUOT}:
        return True
    if isinstance(error, DatabaseError):
        text = str(error).lower()
        return "disk is full" in text or "no space left on device" in text
    return False
