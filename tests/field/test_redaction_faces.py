"""Face blurring in photo working copies, and the person's check before anything is shared.

The face is drawn here with Pillow (eyes, brows, nose and mouth on a lit oval), which the
Haar cascade shipped in the opencv wheel finds like a real frontal face; a blank oval of the
same size is the control it must not find.
"""

from __future__ import annotations

import hashlib
import io
import socket
import threading
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from django.urls import reverse
from PIL import Image, ImageDraw, ImageFilter
from PIL.PngImagePlugin import PngInfo

from amparo.audit.models import AuditEvent
from amparo.custody.evidence import evidence_store
from amparo.evidence.custody import parse_custody_entry
from amparo.field import redaction_faces
from amparo.field.models import Attachment, AttachmentKind, Report
from amparo.field.redaction_faces import Box, blur_boxes, detect_faces, parse_boxes
from tests.field.conftest import Event
from tests.field.factories import (
    filed_report,
    signed_in_client,
    stored_bytes,
    upload_through_page,
)

pytestmark = pytest.mark.django_db

WIDTH, HEIGHT = 480, 320
FACE_AT = (260, 60)  # top left of the 180-pixel face
FACE_SIZE = 180


def _background() -> Image.Image:
    """A background with structure, so "unchanged" outside the face means something."""
    ramp = np.tile(np.linspace(40, 110, WIDTH, dtype=np.uint8), (HEIGHT, 1))
    rgb = np.dstack([ramp, np.flipud(ramp), np.full_like(ramp, 70)])
    image = Image.fromarray(rgb, "RGB")
    draw = ImageDraw.Draw(image)
    draw.rectangle([20, 200, 140, 300], fill=(150, 60, 60))
    draw.line([0, 0, 200, 180], fill=(230, 230, 230), width=3)
    return image


def _face(size: int, features: bool = True) -> Image.Image:
    s = size
    face = Image.new("L", (s, s), 60)
    draw = ImageDraw.Draw(face)
    draw.ellipse([s * 0.2, s * 0.1, s * 0.8, s * 0.95], fill=200)
    if features:
        draw.rectangle([s * 0.3, s * 0.33, s * 0.45, s * 0.36], fill=40)
        draw.rectangle([s * 0.55, s * 0.33, s * 0.7, s * 0.36], fill=40)
        draw.ellipse([s * 0.31, s * 0.40, s * 0.44, s * 0.47], fill=30)
        draw.ellipse([s * 0.56, s * 0.40, s * 0.69, s * 0.47], fill=30)
        draw.polygon([(s * 0.5, s * 0.47), (s * 0.45, s * 0.65), (s * 0.55, s * 0.65)], fill=170)
        draw.ellipse([s * 0.38, s * 0.72, s * 0.62, s * 0.79], fill=70)
    return face.filter(ImageFilter.GaussianBlur(s / 60))


def picture(features: bool = True) -> Image.Image:
    image = _background()
    image.paste(_face(FACE_SIZE, features).convert("RGB"), FACE_AT)
    return image


def png_bytes(image: Image.Image) -> bytes:
    out = io.BytesIO()
    info = PngInfo()
    info.add_text("Author", "Phone of Maria")
    info.add_text("Location", "40.7128 N 74.0060 W")
    image.save(out, "PNG", pnginfo=info)
    return out.getvalue()


def jpeg_with_gps(image: Image.Image) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker X1"  # Make
    exif[0x0110] = "PX-9 Pro"  # Model
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (40.0, 42.0, 46.08)
    gps[3] = "W"
    gps[4] = (74.0, 0.0, 21.6)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=95, exif=exif)
    return out.getvalue()


def bgr(data: bytes) -> np.ndarray[Any, Any]:
    decoded = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    assert decoded is not None
    return decoded


def inside(boxes: list[Box], shape: tuple[int, ...], margin: float) -> np.ndarray[Any, Any]:
    mask = np.zeros(shape[:2], dtype=bool)
    for box in boxes:
        area = box.grown(margin, shape[1], shape[0])
        mask[area.y : area.y + area.height, area.x : area.x + area.width] = True
    return mask


def overlaps_drawn_face(box: Box) -> bool:
    x, y = FACE_AT
    return (
        box.x < x + FACE_SIZE
        and x < box.x + box.width
        and box.y < y + FACE_SIZE
        and y < box.y + box.height
    )


# --- The detector -----------------------------------------------------------------------------


def test_the_model_ships_inside_the_opencv_package() -> None:
    directory = redaction_faces.cascade_directory()
    assert directory.parent == Path(cv2.__file__).parent
    assert (directory / "haarcascade_frontalface_default.xml").is_file()


def test_detection_finds_the_drawn_face_and_not_a_blank_oval_without_the_network(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delattr(redaction_faces._per_thread, "classifiers", raising=False)

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("the face detector tried to use the network")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    found = detect_faces(bgr(png_bytes(picture())))
    assert any(overlaps_drawn_face(box) for box in found), found
    assert not any(overlaps_drawn_face(b) for b in detect_faces(bgr(png_bytes(picture(False)))))


def test_threads_of_one_process_detect_the_same_faces_at_once() -> None:
    """`amparo serve` runs threads: two people redacting at once must each get every face.
    (A cascade classifier shared by threads returned other boxes, none, or errors.)"""
    image = bgr(png_bytes(picture()))
    expected = sorted(detect_faces(image), key=lambda box: (box.x, box.y))
    assert expected
    results: list[Any] = []
    lock = threading.Lock()

    def detect_often() -> None:
        for _run in range(6):
            try:
                found: Any = sorted(detect_faces(image), key=lambda box: (box.x, box.y))
            except cv2.error as error:
                found = error
            with lock:
                results.append(found)

    threads = [threading.Thread(target=detect_often) for _thread in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 48
    assert all(found == expected for found in results), [r for r in results if r != expected][:3]


def test_blurring_changes_the_box_and_nothing_else() -> None:
    image = bgr(png_bytes(picture()))
    boxes = detect_faces(image)
    assert boxes
    blurred = blur_boxes(image, boxes)
    mask = inside(boxes, image.shape, redaction_faces.FACE_MARGIN)
    assert np.array_equal(blurred[~mask], image[~mask])
    difference = np.abs(blurred.astype(int) - image.astype(int))[mask]
    assert difference.mean() > 10
    # No face is left to find in the blurred image.
    assert not any(overlaps_drawn_face(box) for box in detect_faces(blurred))


def test_boxes_given_by_hand_are_checked_against_the_photo() -> None:
    assert parse_boxes("10, 20, 30, 40\n\n0;0;5;5", 100, 100) == [
        Box(10, 20, 30, 40),
        Box(0, 0, 5, 5),
    ]
    for bad in ("10, 20, 30", "a, b, c, d", "90, 90, 20, 20", "-1, 0, 5, 5", "0, 0, 0, 5"):
        with pytest.raises(redaction_faces.FaceBlurError):
            parse_boxes(bad, 100, 100)


# --- Working copies through the pages -----------------------------------------------------------


def _upload(event: Event, data: bytes, name: str, media_type: str) -> tuple[Report, Attachment]:
    report = filed_report(event.alice, event.deployment)
    return report, upload_through_page(event.alice, report, name, data, media_type)


def _entries(attachment: Attachment) -> list[dict[str, Any]]:
    store = evidence_store()
    return [
        parse_custody_entry(store.log.entry(i))
        for i in store.item(attachment.item_id).custody_entries
    ]


def test_png_copy_blurs_the_face_changes_nothing_else_and_drops_metadata(event: Event) -> None:
    data = png_bytes(picture())
    report, original = _upload(event, data, "crowd.png", "image/png")
    response = signed_in_client(event.lawyer).post(
        reverse("field:working_copy", args=[original.pk])
    )
    copy = report.attachments.get(kind=AttachmentKind.WORKING_COPY)
    assert response["Location"] == reverse("field:working_copy_check", args=[copy.pk])
    redacted = stored_bytes(copy)
    assert b"Phone of Maria" not in redacted
    assert b"40.7128" not in redacted
    before, after = bgr(data), bgr(redacted)
    boxes = detect_faces(before)
    assert any(overlaps_drawn_face(box) for box in boxes)
    mask = inside(boxes, before.shape, redaction_faces.FACE_MARGIN)
    assert np.array_equal(after[~mask], before[~mask])
    assert np.abs(after.astype(int) - before.astype(int))[mask].mean() > 10
    assert not any(overlaps_drawn_face(box) for box in detect_faces(after))
    assert hashlib.sha256(stored_bytes(original)).hexdigest() == hashlib.sha256(data).hexdigest()
    derived = _entries(copy)[1]
    assert derived["event"] == "derived"
    assert derived["details"]["faces_blurred"] is True
    assert derived["details"]["faces_detected"] == len(boxes)


def test_gps_jpeg_copy_has_no_location_or_device_and_a_blurred_face(event: Event) -> None:
    data = jpeg_with_gps(picture())
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(0x8825)  # the sample has GPS
    report, original = _upload(event, data, "gps.jpg", "image/jpeg")
    signed_in_client(event.lawyer).post(reverse("field:working_copy", args=[original.pk]))
    copy = report.attachments.get(kind=AttachmentKind.WORKING_COPY)
    redacted = stored_bytes(copy)
    copy_image = Image.open(io.BytesIO(redacted))
    assert dict(copy_image.getexif()) == {}
    assert b"Exif" not in redacted
    assert b"PhoneMaker" not in redacted
    assert b"PX-9" not in redacted
    before, after = bgr(data), bgr(redacted)
    boxes = detect_faces(before)
    mask = inside(boxes, before.shape, redaction_faces.FACE_MARGIN)
    assert np.abs(after.astype(int) - before.astype(int))[mask].mean() > 10
    # JPEG is re-encoded, so outside the face only compression noise differs.
    assert np.abs(after.astype(int) - before.astype(int))[~mask].mean() < 2
    assert original.sha256 == hashlib.sha256(data).hexdigest()
    assert hashlib.sha256(stored_bytes(original)).hexdigest() == original.sha256


def test_faces_can_be_left_unblurred_on_purpose(event: Event) -> None:
    data = png_bytes(picture())
    report, original = _upload(event, data, "consenting.png", "image/png")
    signed_in_client(event.lawyer).post(
        reverse("field:working_copy", args=[original.pk]), {"keep_faces": "on"}
    )
    copy = report.attachments.get(kind=AttachmentKind.WORKING_COPY)
    assert np.array_equal(bgr(stored_bytes(copy)), bgr(data))
    assert b"Phone of Maria" not in stored_bytes(copy)
    assert _entries(copy)[1]["details"]["faces_blurred"] is False


def test_a_copy_cannot_be_downloaded_until_a_person_confirms_the_check(event: Event) -> None:
    report, original = _upload(event, png_bytes(picture()), "crowd.png", "image/png")
    lawyer = signed_in_client(event.lawyer)
    lawyer.post(reverse("field:working_copy", args=[original.pk]))
    copy = report.attachments.get(kind=AttachmentKind.WORKING_COPY)
    download = reverse("field:download", args=[copy.pk])
    check = reverse("field:working_copy_check", args=[copy.pk])
    for reader in (event.alice, event.lawyer):
        assert signed_in_client(reader).get(download).status_code == 403
    page = lawyer.get(check)
    assert page.status_code == 200
    assert b"I have checked every face in this copy is blurred" in page.content
    assert reverse("field:working_copy_preview", args=[copy.pk]).encode() in page.content
    preview = lawyer.get(reverse("field:working_copy_preview", args=[copy.pk]))
    assert b"".join(preview.streaming_content) == stored_bytes(copy)  # type: ignore[attr-defined]
    assert preview["Content-Disposition"].startswith("inline")
    assert _entries(copy)[-1]["details"] == {"purpose": "check"}
    # Observers and attorneys outside the legal team never see the check page or preview.
    for outsider in (event.alice, event.outsider):
        assert signed_in_client(outsider).get(check).status_code == 403
    # Confirming without ticking the box does nothing.
    lawyer.post(check, {"decision": "approve"})
    assert lawyer.get(download).status_code == 403
    lawyer.post(check, {"decision": "approve", "confirmed": "on"})
    checked = _entries(copy)[-1]
    assert checked["event"] == "viewed"
    assert checked["details"]["check"] == "approved"
    assert checked["actor_id"] == f"user:{event.lawyer.pk}"
    assert AuditEvent.objects.filter(
        action="field.working_copy.checked", target=f"attachment:{copy.pk}"
    ).exists()
    response = signed_in_client(event.alice).get(download)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == stored_bytes(copy)  # type: ignore[attr-defined]
    # A decision is final.
    lawyer.post(check, {"decision": "reject"})
    assert [e["details"].get("check") for e in _entries(copy)].count("approved") == 1
    assert "rejected" not in [e["details"].get("check") for e in _entries(copy)]


def test_a_rejected_copy_stays_but_is_never_downloaded(event: Event) -> None:
    report, original = _upload(event, png_bytes(picture()), "crowd.png", "image/png")
    lawyer = signed_in_client(event.lawyer)
    lawyer.post(reverse("field:working_copy", args=[original.pk]))
    copy = report.attachments.get(kind=AttachmentKind.WORKING_COPY)
    lawyer.post(reverse("field:working_copy_check", args=[copy.pk]), {"decision": "reject"})
    assert _entries(copy)[-1]["details"] == {"check": "rejected"}
    assert lawyer.get(reverse("field:download", args=[copy.pk])).status_code == 403
    assert AuditEvent.objects.filter(action="field.working_copy.rejected").exists()
    assert Attachment.objects.filter(pk=copy.pk).exists()


def test_blurring_more_by_hand_makes_a_new_copy_and_rejects_the_old(event: Event) -> None:
    data = png_bytes(picture())
    report, original = _upload(event, data, "crowd.png", "image/png")
    lawyer = signed_in_client(event.lawyer)
    lawyer.post(reverse("field:working_copy", args=[original.pk]))
    first = report.attachments.get(kind=AttachmentKind.WORKING_COPY)
    # The white line in the top left corner stands for a face the detector missed.
    response = lawyer.post(
        reverse("field:working_copy_check", args=[first.pk]),
        {"decision": "redo", "boxes": "0, 0, 120, 110"},
    )
    second = report.attachments.filter(kind=AttachmentKind.WORKING_COPY).exclude(pk=first.pk).get()
    assert response["Location"] == reverse("field:working_copy_check", args=[second.pk])
    assert _entries(first)[-1]["details"] == {"check": "rejected", "replaced_by": second.item_id}
    assert second.derived_from_id == original.pk
    before, after = bgr(data), bgr(stored_bytes(second))
    hand = np.zeros(before.shape[:2], dtype=bool)
    hand[0:110, 0:120] = True
    faces = inside(detect_faces(before), before.shape, redaction_faces.FACE_MARGIN)
    white_before = int((before[hand] > 200).all(axis=1).sum())
    white_after = int((after[hand] > 200).all(axis=1).sum())
    assert white_before > 100
    assert white_after < white_before // 10
    assert np.array_equal(after[~(hand | faces)], before[~(hand | faces)])
    assert _entries(second)[1]["details"]["boxes_blurred_by_hand"] == 1
    # A box outside the photo is refused and nothing new is made.
    lawyer.post(
        reverse("field:working_copy_check", args=[second.pk]),
        {"decision": "redo", "boxes": "400, 300, 200, 200"},
    )
    assert report.attachments.filter(kind=AttachmentKind.WORKING_COPY).count() == 2
    # A copy already decided on is not replaced.
    lawyer.post(
        reverse("field:working_copy_check", args=[first.pk]),
        {"decision": "redo", "boxes": "0, 0, 10, 10"},
    )
    assert report.attachments.filter(kind=AttachmentKind.WORKING_COPY).count() == 2


def test_the_report_page_offers_the_check_and_hides_the_download_until_then(
    event: Event,
) -> None:
    report, original = _upload(event, png_bytes(picture()), "crowd.png", "image/png")
    lawyer = signed_in_client(event.lawyer)
    lawyer.post(reverse("field:working_copy", args=[original.pk]))
    copy = report.attachments.get(kind=AttachmentKind.WORKING_COPY)
    page = lawyer.get(reverse("field:report", args=[report.pk])).content.decode()
    assert reverse("field:working_copy_check", args=[copy.pk]) in page
    assert reverse("field:download", args=[copy.pk]) not in page
    assert reverse("field:download", args=[original.pk]) in page
    assert "waiting for a person to check it" in page


def test_unblurred_jpeg_keeps_only_its_orientation(event: Event) -> None:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker X1"
    exif[0x0112] = 6  # shown turned 90 degrees clockwise
    exif.get_ifd(0x8825)[2] = (40.0, 42.0, 46.08)
    out = io.BytesIO()
    picture().save(out, "JPEG", quality=95, exif=exif)
    data = out.getvalue()
    report, original = _upload(event, data, "portrait.jpg", "image/jpeg")
    signed_in_client(event.lawyer).post(
        reverse("field:working_copy", args=[original.pk]), {"keep_faces": "on"}
    )
    copy = report.attachments.get(kind=AttachmentKind.WORKING_COPY)
    redacted = stored_bytes(copy)
    tags = Image.open(io.BytesIO(redacted)).getexif()
    assert dict(tags) == {0x0112: 6}
    assert tags.get_ifd(0x8825) == {}
    assert b"PhoneMaker" not in redacted
    # The image data itself is untouched: same pixels as the original.
    assert np.array_equal(bgr(redacted), bgr(data))
