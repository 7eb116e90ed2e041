"""The capture app's sync: per-device tokens and resumable, verified, exactly-once uploads.

A file arrives as chunks, each with its own SHA-256, appended in order to a staging file.
When the last byte is in, the whole file is checked against the hash taken on the phone and
ingested into the evidence store. Database constraints (one upload per client file id, one
chunk per offset, one attachment per client file id) make a repeat change nothing.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from amparo.accounts.models import User
from amparo.accounts.roles import Role
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
    return staging_directory() / f"{upload.client_file_id}.part"


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
    """Append one verified chunk at `offset`; a chunk already confirmed changes nothing."""
    sha256 = sha256.lower()
    if not _is_hex64(sha256):
        raise SyncError(400, _("Each chunk needs its SHA-256 in the X-Chunk-SHA256 header."))
    if length <= 0 or length > MAX_CHUNK_BYTES:
        raise SyncError(
            413,
            _("A chunk must hold between 1 byte and %(limit)d bytes.") % {"limit": MAX_CHUNK_BYTES},
        )
    with transaction.atomic():
        upload = upload_for(user, file_id)
        upload = Upload.objects.select_for_update().select_related("attachment").get(pk=upload.pk)
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
        _append_verified(upload, offset, sha256, body, length)
        UploadChunk.objects.create(upload=upload, offset=offset, size=length, sha256=sha256)
        upload.received_bytes = offset + length
        upload.save(update_fields=["received_bytes"])
    if upload.received_bytes == upload.declared_size:
        return finish_upload(user, file_id)
    return _state(upload)


def _append_verified(
    upload: Upload, offset: int, sha256: str, body: IO[bytes], length: int
) -> None:
    path = _staging_path(upload)
    digest = hashlib.sha256()
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        # Bytes past the confirmed offset are left from a write that never committed.
        os.ftruncate(descriptor, offset)
        position = offset
        remaining = length
        while remaining:
            piece = body.read(min(_READ_PIECE, remaining))
            if not piece:
                break
            digest.update(piece)
            os.pwrite(descriptor, piece, position)
            position += len(piece)
            remaining -= len(piece)
        if remaining:
            os.ftruncate(descriptor, offset)
            raise SyncError(400, _("The chunk ended early; send it again."))
        if digest.hexdigest() != sha256:
            os.ftruncate(descriptor, offset)
            raise SyncError(
                422,
                _("The chunk at byte %(offset)d does not match its SHA-256; send it again.")
                % {"offset": offset},
                received_bytes=offset,
            )
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def finish_upload(user: User, file_id: uuid.UUID) -> UploadState:
    """Check the whole file against the hash taken at capture, then ingest it once."""
    with transaction.atomic():
        upload = upload_for(user, file_id)
        upload = Upload.objects.select_for_update().select_related("attachment").get(pk=upload.pk)
        if upload.attachment is not None:
            return _state(upload)
        if upload.received_bytes != upload.declared_size:
            raise SyncError(
                409, _("The file is not complete yet."), received_bytes=upload.received_bytes
            )
        path = _staging_path(upload)
        digest = hashlib.sha256()
        with path.open("rb") as staged:
            while piece := staged.read(1024 * 1024):
                digest.update(piece)
        mismatch = digest.hexdigest() != upload.declared_sha256
        if mismatch:
            UploadChunk.objects.filter(upload=upload).delete()
            upload.received_bytes = 0
            upload.save(update_fields=["received_bytes"])
    if mismatch:
        path.unlink(missing_ok=True)
        raise SyncError(
            422,
            _(
                "%(file)s: the file received does not match the SHA-256 taken on the "
                "phone; it was discarded and must be sent again."
            )
            % {"file": upload.filename},
            received_bytes=0,
        )
    with transaction.atomic():
        upload = Upload.objects.select_for_update().select_related("attachment").get(pk=upload.pk)
        if upload.attachment is not None:
            return _state(upload)
        with path.open("rb") as staged:
            try:
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
        upload.attachment = attachment
        upload.save(update_fields=["attachment"])
    path.unlink(missing_ok=True)
    return _state(upload)
