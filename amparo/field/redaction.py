"""Redacted working copies: photos and videos without location or device metadata.

JPEG and PNG are handled here by their structure alone (no image decoding): every segment or
chunk that can carry EXIF, GPS, XMP, IPTC, maker notes or comments is dropped and the image
data is copied unchanged. Unless the attorney says otherwise, bystanders' faces in photos are
then blurred (redaction_faces.py), which re-encodes the pixels. Videos go through ffmpeg
(redaction_video.py), which blurs faces frame by frame the same way unless the attorney says
otherwise (short videos only: it runs in the request). Every working copy waits
for a person's check before it can be downloaded (redaction_review.py).

A working copy is a new item in the evidence store, linked to its original by a "derived"
custody event on each; the original is only read, never changed.
"""

from __future__ import annotations

import io
import struct
import warnings
import zlib

from django.utils.translation import gettext as _
from PIL import Image

from amparo.accounts.models import User
from amparo.custody.evidence import evidence_store, ingest_for, record_custody
from amparo.evidence.custody import CustodyEvent
from amparo.evidence.store import Item
from amparo.field.models import Attachment, AttachmentKind
from amparo.field.redaction_faces import Box, FaceBlurError, blur_faces, can_blur
from amparo.field.redaction_video import (
    VIDEO_MUXERS,
    FaceCounts,
    VideoRedactionError,
    max_video_bytes,
    redacted_video,
    video_with_faces_blurred,
)
from amparo.field.services import on_legal_team

MAX_REDACT_BYTES = 64 * 1024 * 1024

# APP0 (JFIF) and APP14 (Adobe colour transform) carry no location or device; keep them.
_KEPT_APP_MARKERS = {0xE0, 0xEE}
_STANDALONE_MARKERS = {0x01, *range(0xD0, 0xD8)}
_SOS = 0xDA
_EOI = 0xD9
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Chunks that describe pixels; everything else (eXIf, tEXt, iTXt, zTXt, tIME...) goes.
_PNG_KEPT_CHUNKS = {
    b"IHDR",
    b"PLTE",
    b"IDAT",
    b"IEND",
    b"tRNS",
    b"gAMA",
    b"cHRM",
    b"sRGB",
    b"sBIT",
    b"pHYs",
    b"bKGD",
    b"acTL",
    b"fcTL",
    b"fdAT",
}


class RedactionError(ValueError):
    """The file could not be redacted; the message says why."""


def strip_jpeg_metadata(data: bytes) -> bytes:
    """A JPEG without APP1-APP13, APP15 or comment segments, and nothing after its end."""
    if not data.startswith(b"\xff\xd8"):
        raise RedactionError(_("The file is not a JPEG image."))
    out = io.BytesIO()
    out.write(b"\xff\xd8")
    position = 2
    while position < len(data):
        if data[position] != 0xFF:
            raise RedactionError(_("The JPEG is damaged at byte %(at)d.") % {"at": position})
        marker = data[position + 1] if position + 1 < len(data) else -1
        if marker == 0xFF:  # fill byte before a marker
            position += 1
            continue
        if marker in _STANDALONE_MARKERS:
            out.write(data[position : position + 2])
            position += 2
            continue
        if marker == _EOI:
            out.write(b"\xff\xd9")
            return out.getvalue()
        if position + 4 > len(data):
            raise RedactionError(_("The JPEG ends in the middle of a segment."))
        (length,) = struct.unpack(">H", data[position + 2 : position + 4])
        end = position + 2 + length
        if length < 2 or end > len(data):
            raise RedactionError(_("The JPEG has a segment longer than the file."))
        if marker == _SOS:
            scan_end = _end_of_scan(data, end)
            out.write(data[position:scan_end])
            position = scan_end
            continue
        is_metadata = (0xE1 <= marker <= 0xEF and marker not in _KEPT_APP_MARKERS) or marker == 0xFE
        if not is_metadata:
            out.write(data[position:end])
        position = end
    raise RedactionError(_("The JPEG has no end marker."))


def _end_of_scan(data: bytes, start: int) -> int:
    """Index of the marker after entropy-coded data (stuffed 0xFF00 and restarts skipped)."""
    position = start
    while True:
        found = data.find(b"\xff", position)
        if found == -1 or found + 1 >= len(data):
            raise RedactionError(_("The JPEG ends inside its image data."))
        following = data[found + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7 or following == 0xFF:
            position = found + 1 if following == 0xFF else found + 2
            continue
        return found


def strip_png_metadata(data: bytes) -> bytes:
    """A PNG with only the chunks that describe its pixels."""
    if not data.startswith(_PNG_SIGNATURE):
        raise RedactionError(_("The file is not a PNG image."))
    out = io.BytesIO()
    out.write(_PNG_SIGNATURE)
    position = len(_PNG_SIGNATURE)
    while position + 12 <= len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        end = position + 12 + length
        if end > len(data):
            raise RedactionError(_("The PNG has a chunk longer than the file."))
        body = data[position + 8 : position + 8 + length]
        (crc,) = struct.unpack(">I", data[end - 4 : end])
        if zlib.crc32(kind + body) != crc:
            raise RedactionError(_("The PNG is damaged (a chunk fails its checksum)."))
        if kind in _PNG_KEPT_CHUNKS:
            out.write(data[position:end])
        position = end
        if kind == b"IEND":
            return out.getvalue()
    raise RedactionError(_("The PNG has no end chunk."))


_STRIPPERS = {"image/jpeg": strip_jpeg_metadata, "image/png": strip_png_metadata}
_ORIENTATION_TAG = 0x0112


def jpeg_orientation(data: bytes) -> int:
    """The EXIF orientation (1 to 8) a JPEG asks to be shown with; 1 when none or unreadable."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                value = image.getexif().get(_ORIENTATION_TAG)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return 1
    return value if isinstance(value, int) and 2 <= value <= 8 else 1


def with_orientation(stripped: bytes, orientation: int) -> bytes:
    """A stripped JPEG given back its orientation, the only tag it keeps: without it a phone's
    upright photo would be shown lying on its side."""
    if orientation == 1:
        return stripped
    tiff = b"MM\x00*" + struct.pack(">IH", 8, 1)
    tiff += struct.pack(">HHIHH", _ORIENTATION_TAG, 3, 1, orientation, 0) + struct.pack(">I", 0)
    body = b"Exif\x00\x00" + tiff
    segment = b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body
    # After SOI and, if there is one, the JFIF APP0 segment, which must come first.
    at = 2
    if stripped[2:4] == b"\xff\xe0":
        (length,) = struct.unpack(">H", stripped[4:6])
        at = 4 + length
    return stripped[:at] + segment + stripped[at:]


def can_redact(attachment: Attachment) -> bool:
    return attachment.kind == AttachmentKind.ORIGINAL and (
        attachment.media_type in _STRIPPERS or attachment.media_type in VIDEO_MUXERS
    )


def make_working_copy(
    attachment: Attachment,
    by: User,
    *,
    blur: bool = True,
    boxes_by_hand: list[Box] | None = None,
) -> Attachment:
    """A redacted copy as a new item, linked to the original by "derived" custody events.

    Photos lose their metadata and, with ``blur``, every face the detector finds plus any
    rectangle given in ``boxes_by_hand``. Videos lose theirs and, with ``blur``, every face
    found in any frame (rectangles by hand are for photos only). The original is only read.
    """
    if not on_legal_team(by, attachment.report.deployment):
        raise RedactionError(_("Only the event's legal team makes working copies."))
    if not can_redact(attachment):
        raise RedactionError(
            _("Redacted copies of %(type)s files are not available yet.")
            % {"type": attachment.media_type}
        )
    filename = f"redacted-{attachment.filename}"[:200]
    details: dict[str, str | int | bool] = {"from_item": attachment.item_id}
    if attachment.media_type in VIDEO_MUXERS:
        if boxes_by_hand:
            raise RedactionError(_("Rectangles can be blurred by hand only in photos."))
        item, counts = _redact_video(attachment, by, filename, blur)
        details["redaction"] = (
            "location, device and time metadata, chapters and data streams removed"
        )
        details["faces_blurred"] = blur
        if counts is None:
            details["faces_left_unblurred"] = True
        else:
            details["frames"] = counts.frames
            details["frames_with_faces_blurred"] = counts.frames_with_faces
            details["faces_detected"] = counts.boxes
    else:
        item, faces = _redact_photo(attachment, by, filename, blur, boxes_by_hand or [])
        details["redaction"] = "location and device metadata removed"
        details["faces_blurred"] = blur
        if blur:
            details["faces_detected"] = faces[0]
        if boxes_by_hand:
            details["boxes_blurred_by_hand"] = faces[1]
    record_custody(item.id, CustodyEvent.DERIVED, by, details)
    record_custody(attachment.item_id, CustodyEvent.DERIVED, by, {"to_item": item.id})
    return Attachment.objects.create(
        report=attachment.report,
        item_id=item.id,
        sha256=item.sha256,
        size=item.size,
        filename=filename,
        media_type=attachment.media_type,
        kind=AttachmentKind.WORKING_COPY,
        derived_from=attachment,
        shows_injury=attachment.shows_injury,
        receipt_index=item.custody_entries[0],
        added_by=by,
    )


def _redact_photo(
    attachment: Attachment, by: User, filename: str, blur: bool, boxes_by_hand: list[Box]
) -> tuple[Item, tuple[int, int]]:
    """Ingest the stripped (and, with blur, face-blurred) photo; return it and the counts."""
    if attachment.size > MAX_REDACT_BYTES:
        raise RedactionError(_("The photo is too large to redact here."))
    with evidence_store().blobs.open(attachment.item_id, attachment.sha256) as reader:
        original = reader.read()
    strip = _STRIPPERS[attachment.media_type]
    counts = (0, 0)
    if boxes_by_hand and not can_blur(attachment.media_type):
        raise RedactionError(
            _("Faces cannot be blurred in %(type)s files yet.") % {"type": attachment.media_type}
        )
    if (blur or boxes_by_hand) and can_blur(attachment.media_type):
        try:
            result = blur_faces(original, attachment.media_type, boxes_by_hand, detect=blur)
        except FaceBlurError as error:
            raise RedactionError(str(error)) from error
        # Re-encoding writes no metadata; stripping again makes sure of it.
        redacted = strip(result.data)
        counts = (result.detected, result.added_by_hand)
    else:
        redacted = strip(original)
        if attachment.media_type == "image/jpeg":
            redacted = with_orientation(redacted, jpeg_orientation(original))
    item = ingest_for(by, io.BytesIO(redacted), filename=filename, media_type=attachment.media_type)
    return item, counts


def _redact_video(
    attachment: Attachment, by: User, filename: str, blur: bool
) -> tuple[Item, FaceCounts | None]:
    """Ingest the metadata-free (and, with blur, face-blurred) video; return it and the counts."""
    if attachment.size > max_video_bytes():
        raise RedactionError(_("The video is too large to redact here."))
    try:
        if blur:
            with video_with_faces_blurred(
                attachment.item_id, attachment.sha256, attachment.media_type
            ) as (path, counts):
                with path.open("rb") as copy:
                    item = ingest_for(by, copy, filename=filename, media_type=attachment.media_type)
                return item, counts
        with (
            redacted_video(attachment.item_id, attachment.sha256, attachment.media_type) as path,
            path.open("rb") as copy,
        ):
            return ingest_for(by, copy, filename=filename, media_type=attachment.media_type), None
    except VideoRedactionError as error:
        raise RedactionError(str(error)) from error
