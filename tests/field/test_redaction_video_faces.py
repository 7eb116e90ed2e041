"""Faces blurred in video working copies: a real video with the drawn face, real ffmpeg and
the real detector shipped in the opencv wheel, the output decoded and searched again."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.conf import settings
from django.urls import reverse

from amparo.custody.evidence import evidence_store
from amparo.evidence.custody import parse_custody_entry
from amparo.field import redaction_video
from amparo.field.models import Attachment, AttachmentKind
from amparo.field.redaction_faces import Box, detect_faces
from tests.field.conftest import Event
from tests.field.factories import (
    filed_report,
    signed_in_client,
    stored_bytes,
    upload_through_page,
)
from tests.field.test_redaction_faces import FACE_AT, FACE_SIZE, HEIGHT, WIDTH, picture

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None,
        reason="ffmpeg is not installed (scripts/install-system-deps.sh installs it)",
    ),
]

RATE = 5
FRAMES = 6  # 1.2 s
DRAWN_FACE = Box(*FACE_AT, FACE_SIZE, FACE_SIZE)


def face_frames() -> list[np.ndarray[Any, Any]]:
    """The photo test's picture (structured background, drawn face), moving a pixel a frame."""
    base = np.asarray(picture().convert("RGB"))[:, :, ::-1]  # RGB -> BGR
    return [np.roll(base, shift=index, axis=1) for index in range(FRAMES)]


def make_face_video(path: Path) -> bytes:
    """H.264 (nearly lossless, so "unchanged" can be measured) with a sine tone and tags."""
    frames = face_frames()
    subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-loglevel",
            "error",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "bgr24",
            "-video_size",
            f"{WIDTH}x{HEIGHT}",
            "-framerate",
            str(RATE),
            "-i",
            "pipe:0",
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency=440:duration={FRAMES / RATE}",
            "-c:v",
            "libx264",
            "-crf",
            "4",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-metadata",
            "location=+40.7128-074.0060/",
            "-metadata",
            "model=PX-9 Pro",
            "-movflags",
            "+use_metadata_tags",
            "-y",
            str(path),
        ],
        input=b"".join(frame.tobytes() for frame in frames),
        check=True,
        capture_output=True,
    )
    return path.read_bytes()


def decode_frames(path: Path) -> list[np.ndarray[Any, Any]]:
    finished = subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-loglevel",
            "error",
            "-i",
            str(path),
            "-map",
            "0:v:0",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "bgr24",
            "pipe:1",
        ],
        check=True,
        capture_output=True,
    )
    size = WIDTH * HEIGHT * 3
    data = finished.stdout
    assert len(data) % size == 0
    return [
        np.frombuffer(data[at : at + size], dtype=np.uint8).reshape(HEIGHT, WIDTH, 3)
        for at in range(0, len(data), size)
    ]


def probe(path: Path) -> dict[str, Any]:
    finished = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-show_entries",
            "format_tags:stream_tags:stream=codec_type,codec_name",
            "-of",
            "json",
            str(path),
        ],
        check=True,
        capture_output=True,
    )
    result: dict[str, Any] = json.loads(finished.stdout)
    return result


def face_area(shift: int) -> np.ndarray[Any, Any]:
    """Where the drawn face can be in a frame, with the blur's margin and some slack."""
    mask = np.zeros((HEIGHT, WIDTH), dtype=bool)
    area = DRAWN_FACE.grown(0.45, WIDTH, HEIGHT)
    mask[area.y : area.y + area.height, area.x + shift : area.x + area.width + shift] = True
    return mask


def _upload(event: Event, data: bytes) -> Attachment:
    report = filed_report(event.alice, event.deployment)
    return upload_through_page(event.alice, report, "march.mp4", data, "video/mp4")


def test_faces_in_every_frame_are_blurred_the_rest_kept_the_sound_untouched(
    event: Event, tmp_path: Path
) -> None:
    source = tmp_path / "in.mp4"
    data = make_face_video(source)
    before = decode_frames(source)
    assert len(before) == FRAMES
    # The control: the detector finds the drawn face in every frame of the original.
    assert all(detect_faces(frame) for frame in before)
    original = _upload(event, data)
    lawyer = signed_in_client(event.lawyer)
    lawyer.post(reverse("field:working_copy", args=[original.pk]))
    copy = original.report.attachments.get(kind=AttachmentKind.WORKING_COPY)
    out = tmp_path / "out.mp4"
    out.write_bytes(stored_bytes(copy))
    after = decode_frames(out)
    assert len(after) == FRAMES
    for index, (old, new) in enumerate(zip(before, after, strict=True)):
        assert detect_faces(new) == [], f"a face is still found in frame {index}"
        face = face_area(index)
        difference = np.abs(old.astype(int) - new.astype(int))
        # Inside the face the pixels changed a lot; outside, only by re-encoding.
        assert difference[face].mean() > 10
        assert difference[~face].mean() < 2.5, index
    probed = probe(out)
    streams = {s["codec_type"]: s for s in probed["streams"]}
    assert set(streams) == {"video", "audio"}
    assert streams["video"]["codec_name"] == "h264"
    assert streams["audio"]["codec_name"] == "aac"
    tags = dict(probed.get("format", {}).get("tags", {}))
    for stream in probed["streams"]:
        tags.update(stream.get("tags", {}))
    neutral = {"major_brand", "minor_version", "compatible_brands", "language", "handler_name"}
    neutral |= {"vendor_id", "encoder"}
    assert set(tags) - neutral == set(), tags
    assert tags.get("encoder", "Lavf") in ("Lavf", "Lavc libx264")
    copied = out.read_bytes()
    for word in (b"PX-9", b"40.7128", b"x264 - core"):
        assert word not in copied, word
    # The sound is the original's, packet for packet (copied, not re-encoded).
    assert audio_packets(out) == audio_packets(source)
    # The original is exactly what was uploaded.
    assert hashlib.sha256(stored_bytes(original)).hexdigest() == hashlib.sha256(data).hexdigest()
    store = evidence_store()
    derived = [
        parse_custody_entry(store.log.entry(i)) for i in store.item(copy.item_id).custody_entries
    ][1]
    assert derived["event"] == "derived"
    details = derived["details"]
    assert details["faces_blurred"] is True
    assert details["frames"] == FRAMES
    assert details["frames_with_faces_blurred"] == FRAMES
    assert details["faces_detected"] >= FRAMES
    assert set(details) == {
        "from_item",
        "redaction",
        "faces_blurred",
        "frames",
        "frames_with_faces_blurred",
        "faces_detected",
    }
    page = lawyer.get(reverse("field:working_copy_check", args=[copy.pk]))
    assert f"blurred faces in {FRAMES} frames of {FRAMES}".encode() in page.content
    assert b"I have watched this copy and it shows no face that must be hidden" in page.content
    assert list(Path(settings.DATA_DIR).glob(f"{redaction_video.SCRATCH_PREFIX}*")) == []


def audio_packets(path: Path) -> list[str]:
    finished = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-select_streams",
            "a:0",
            "-show_entries",
            "packet=size,pts",
            "-of",
            "csv=p=0",
            str(path),
        ],
        check=True,
        capture_output=True,
    )
    packets = finished.stdout.decode().split()
    assert packets
    return packets


def test_faces_left_unblurred_on_purpose_are_a_plain_stream_copy(
    event: Event, tmp_path: Path
) -> None:
    data = make_face_video(tmp_path / "in.mp4")
    original = _upload(event, data)
    lawyer = signed_in_client(event.lawyer)
    # The report page offers the choice for a video as it does for a photo.
    report_page = lawyer.get(reverse("field:report", args=[original.report.pk]))
    assert f'id="keep-faces-{original.pk}" name="keep_faces"'.encode() in report_page.content
    lawyer.post(reverse("field:working_copy", args=[original.pk]), {"keep_faces": "on"})
    copy = original.report.attachments.get(kind=AttachmentKind.WORKING_COPY)
    out = tmp_path / "out.mp4"
    out.write_bytes(stored_bytes(copy))
    assert any(detect_faces(frame) for frame in decode_frames(out))
    page = lawyer.get(reverse("field:working_copy_check", args=[copy.pk]))
    assert b"Faces were left unblurred on purpose." in page.content


def test_a_video_over_the_blurring_limit_is_refused_and_says_the_limit(
    event: Event, tmp_path: Path, settings: Any
) -> None:
    settings.FIELD_MAX_BLUR_VIDEO_SECONDS = 1
    original = _upload(event, make_face_video(tmp_path / "in.mp4"))
    response = signed_in_client(event.lawyer).post(
        reverse("field:working_copy", args=[original.pk]), follow=True
    )
    assert "only in videos up to 1 second long." in response.content.decode()
    assert not original.report.attachments.filter(kind=AttachmentKind.WORKING_COPY).exists()
    assert list(Path(settings.DATA_DIR).glob(f"{redaction_video.SCRATCH_PREFIX}*")) == []


def test_an_encoder_that_fails_is_reported_without_hanging_or_leaving_plaintext(
    event: Event, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = redaction_video.encode_command

    def broken(*args: Any) -> list[str]:
        return [word.replace("libx264", "no-such-encoder") for word in real(*args)]

    monkeypatch.setattr(redaction_video, "encode_command", broken)
    original = _upload(event, make_face_video(tmp_path / "in.mp4"))
    response = signed_in_client(event.lawyer).post(
        reverse("field:working_copy", args=[original.pk]), follow=True
    )
    page = response.content.decode()
    assert "ffmpeg could not copy this video without its metadata" in page
    assert "no-such-encoder" in page
    assert not original.report.attachments.filter(kind=AttachmentKind.WORKING_COPY).exists()
    assert list(Path(settings.DATA_DIR).glob(f"{redaction_video.SCRATCH_PREFIX}*")) == []


def test_a_phone_video_turned_on_its_side_is_blurred_upright(event: Event, tmp_path: Path) -> None:
    lying = tmp_path / "lying.mp4"
    make_face_video(lying)
    stored = tmp_path / "stored.mp4"
    turned = tmp_path / "turned.mp4"
    # The pixels are stored turned a quarter left; the container asks for them turned back
    # (ffmpeg 5's "rotate" tag becomes the display matrix phones write).
    for command in (
        [
            "-i",
            str(lying),
            "-vf",
            "transpose=2",
            "-c:v",
            "libx264",
            "-crf",
            "4",
            "-c:a",
            "copy",
            "-y",
            str(stored),
        ],
        ["-i", str(stored), "-c", "copy", "-metadata:s:v:0", "rotate=90", "-y", str(turned)],
    ):
        subprocess.run(
            ["ffmpeg", "-nostdin", "-loglevel", "error", *command], check=True, capture_output=True
        )
    assert rotation(turned) != "", "the sample video carries no rotation"
    original = _upload(event, turned.read_bytes())
    signed_in_client(event.lawyer).post(reverse("field:working_copy", args=[original.pk]))
    copy = original.report.attachments.get(kind=AttachmentKind.WORKING_COPY)
    out = tmp_path / "out.mp4"
    out.write_bytes(stored_bytes(copy))
    upright = decode_frames(turned)
    after = decode_frames(out)
    assert len(after) == FRAMES
    for old, new in zip(upright, after, strict=True):
        assert detect_faces(old)
        assert detect_faces(new) == []


def rotation(path: Path) -> str:
    finished = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream_side_data=rotation",
            "-of",
            "csv=p=0",
            str(path),
        ],
        check=True,
        capture_output=True,
    )
    return finished.stdout.decode().strip()
