from __future__ import annotations

import hashlib
import struct
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from amparo.custody.evidence import evidence_store
from amparo.evidence.custody import parse_custody_entry
from amparo.field.models import AttachmentKind
from amparo.field.redaction import RedactionError, strip_jpeg_metadata, strip_png_metadata
from tests.field.conftest import Event
from tests.field.factories import filed_report, signed_in_client
from tests.field.jpeg_samples import CAMERA_MAKE, jpeg

pytestmark = pytest.mark.django_db


def test_jpeg_loses_exif_gps_and_comments_but_keeps_its_image_data() -> None:
    original = jpeg(with_gps=True)
    redacted = strip_jpeg_metadata(original)
    assert b"Exif" not in redacted
    assert CAMERA_MAKE not in redacted
    assert b"comment from the camera" not in redacted
    assert redacted == strip_jpeg_metadata(jpeg(with_gps=False))
    assert redacted.endswith(original[original.index(b"\xff\xda") :])


def test_anything_after_the_end_of_image_is_dropped() -> None:
    trailing = jpeg() + b"\xff\xd8\xff\xe1\x00\x10Exif\x00\x00second image"
    assert strip_jpeg_metadata(trailing) == strip_jpeg_metadata(jpeg())


def test_damaged_jpeg_is_refused() -> None:
    with pytest.raises(RedactionError):
        strip_jpeg_metadata(jpeg()[:30])


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def test_png_keeps_only_pixel_chunks() -> None:
    png = (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
        + _chunk(b"eXIf", b"MM\x00*GPS data")
        + _chunk(b"tEXt", b"Author\x00Phone")
        + _chunk(b"IDAT", zlib.compress(b"\x00\x00"))
        + _chunk(b"IEND", b"")
    )
    redacted = strip_png_metadata(png)
    assert b"eXIf" not in redacted
    assert b"tEXt" not in redacted
    assert b"IDAT" in redacted


def test_attorney_makes_a_working_copy_linked_by_derived_events(event: Event) -> None:
    report = filed_report(event.alice, event.deployment)
    photo = SimpleUploadedFile("gps.jpg", jpeg(with_gps=True), content_type="image/jpeg")
    signed_in_client(event.alice).post(
        reverse("field:upload_attachment", args=[report.pk]), {"file": photo}
    )
    original = report.attachments.get()
    original_hash = original.sha256
    signed_in_client(event.lawyer).post(reverse("field:working_copy", args=[original.pk]))
    copy = report.attachments.get(kind=AttachmentKind.WORKING_COPY)
    store = evidence_store()
    with store.blobs.open(copy.item_id, copy.sha256) as reader:
        redacted = reader.read()
    assert b"Exif" not in redacted
    assert CAMERA_MAKE not in redacted
    with store.blobs.open(original.item_id) as reader:
        assert hashlib.sha256(reader.read()).hexdigest() == original_hash
    original.refresh_from_db()
    assert original.sha256 == original_hash
    copy_events = [
        parse_custody_entry(store.log.entry(i)) for i in store.item(copy.item_id).custody_entries
    ]
    original_events = [
        parse_custody_entry(store.log.entry(i))
        for i in store.item(original.item_id).custody_entries
    ]
    assert [e["event"] for e in copy_events] == ["ingested", "derived"]
    assert copy_events[1]["details"]["from_item"] == original.item_id
    assert original_events[-1]["event"] == "derived"
    assert original_events[-1]["details"]["to_item"] == copy.item_id
