"""Video working copies: real videos made by ffmpeg, redacted by ffmpeg, read back by ffprobe."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.urls import reverse

from amparo.custody.evidence import evidence_store
from amparo.evidence.custody import parse_custody_entry
from amparo.field import redaction_video
from amparo.field.models import Attachment, AttachmentKind
from tests.field.conftest import Event
from tests.field.factories import (
    filed_report,
    signed_in_client,
    stored_bytes,
    upload_through_page,
)

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None,
        reason="ffmpeg is not installed (scripts/install-system-deps.sh installs it)",
    ),
]

LOCATION = "+40.7128-074.0060/"
DEVICE_WORDS = ("Phonemaker", "PX-9 Pro")
# Tags a redacted copy may keep: they describe the container and codec, not the device.
NEUTRAL_TAGS = {"major_brand", "minor_version", "compatible_brands", "language", "handler_name"}
NEUTRAL_TAGS |= {"vendor_id", "DURATION", "encoder", "ENCODER"}


def make_video(path: Path, *, container: str = "mp4") -> bytes:
    """A one-second video with sound, location, device and time tags, and a chapter."""
    codecs = ["-c:v", "libx264", "-c:a", "aac"]
    if container == "webm":
        codecs = ["-c:v", "libvpx", "-c:a", "libopus"]
    metadata_file = path.with_suffix(".meta")
    metadata_file.write_text(
        ";FFMETADATA1\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=0\nEND=500\ntitle=At 5th and Main\n"
    )
    subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc=duration=1:size=64x64:rate=10",
            "-f",
            "lavfi",
            "-i",
            "sine=duration=1",
            "-i",
            str(metadata_file),
            "-map",
            "0",
            "-map",
            "1",
            "-map_chapters",
            "2",
            *codecs,
            "-metadata",
            f"location={LOCATION}",
            "-metadata",
            f"location-eng={LOCATION}",
            "-metadata",
            f"make={DEVICE_WORDS[0]}",
            "-metadata",
            f"model={DEVICE_WORDS[1]}",
            "-metadata",
            "creation_time=2026-05-01T17:42:00Z",
            "-metadata:s:v:0",
            f"handler_name={DEVICE_WORDS[1]} camera",
            "-metadata:s:v:0",
            "creation_time=2026-05-01T17:42:00Z",
            *(["-movflags", "+use_metadata_tags"] if container == "mp4" else []),
            "-y",
            str(path),
        ],
        check=True,
        capture_output=True,
    )
    return path.read_bytes()


def probe(path: Path) -> dict[str, Any]:
    finished = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-show_entries",
            "format_tags:stream_tags:stream=codec_type,nb_read_frames:chapters",
            "-count_frames",
            "-of",
            "json",
            str(path),
        ],
        check=True,
        capture_output=True,
    )
    result: dict[str, Any] = json.loads(finished.stdout)
    return result


def all_tags(probed: dict[str, Any]) -> dict[str, str]:
    tags = dict(probed.get("format", {}).get("tags", {}))
    for stream in probed.get("streams", []):
        tags.update({f"stream.{k}": v for k, v in stream.get("tags", {}).items()})
    return tags


def _uploaded(event: Event, data: bytes, name: str = "march.mp4") -> Attachment:
    report = filed_report(event.alice, event.deployment)
    return upload_through_page(event.alice, report, name, data, "video/mp4")


def _ask_for_copy(event: Event, original: Attachment) -> Any:
    return signed_in_client(event.lawyer).post(
        reverse("field:working_copy", args=[original.pk]), follow=True
    )


def _upload_and_redact(event: Event, data: bytes, name: str, media_type: str) -> tuple[Any, Any]:
    report = filed_report(event.alice, event.deployment)
    original = upload_through_page(event.alice, report, name, data, media_type)
    signed_in_client(event.lawyer).post(reverse("field:working_copy", args=[original.pk]))
    copy = report.attachments.get(kind=AttachmentKind.WORKING_COPY)
    return original, copy


def test_the_sample_video_really_carries_location_device_time_and_a_chapter(
    tmp_path: Path,
) -> None:
    path = tmp_path / "in.mp4"
    make_video(path)
    probed = probe(path)
    tags = all_tags(probed)
    assert tags["location"].startswith("+40.7128")
    assert tags["make"] == DEVICE_WORDS[0]
    assert tags["model"] == DEVICE_WORDS[1]
    assert "creation_time" in tags
    assert probed["chapters"]


@pytest.mark.parametrize(
    ("container", "media_type"), [("mp4", "video/mp4"), ("webm", "video/webm")]
)
def test_video_copy_has_no_location_device_or_time_and_the_original_is_unchanged(
    event: Event, tmp_path: Path, container: str, media_type: str
) -> None:
    data = make_video(tmp_path / f"in.{container}", container=container)
    original, copy = _upload_and_redact(event, data, f"march.{container}", media_type)
    assert original.media_type == media_type
    redacted = stored_bytes(copy)
    out = tmp_path / f"out.{container}"
    out.write_bytes(redacted)
    probed = probe(out)
    tags = all_tags(probed)
    assert set(tags) - {f"stream.{k}" for k in NEUTRAL_TAGS} - NEUTRAL_TAGS == set(), tags
    assert not [value for value in tags.values() if "40.7128" in value or "PX-9" in value]
    assert not any(key.endswith("creation_time") for key in tags)
    # With +bitexact ffmpeg names itself at most as "Lavf", without its version.
    assert tags.get("encoder", "Lavf") == "Lavf"
    # Re-encoded to blur faces, the picture names its encoder library, never a version.
    encoders = {v for k, v in tags.items() if k.lower() == "stream.encoder"}
    assert encoders <= {"Lavc libx264", "Lavc libvpx-vp9"}, encoders
    assert probed["chapters"] == []
    for word in (*DEVICE_WORDS, "40.7128", "At 5th and Main"):
        assert word.encode() not in redacted, word
    # Picture (re-encoded with faces blurred) and sound, frame for frame.
    kinds = sorted(stream["codec_type"] for stream in probed["streams"])
    assert kinds == ["audio", "video"]
    video_stream = next(s for s in probed["streams"] if s["codec_type"] == "video")
    assert video_stream["nb_read_frames"] == "10"
    # The original is still exactly what was uploaded.
    assert hashlib.sha256(stored_bytes(original)).hexdigest() == hashlib.sha256(data).hexdigest()
    original.refresh_from_db()
    assert original.sha256 == hashlib.sha256(data).hexdigest()
    store = evidence_store()
    copy_events = [
        parse_custody_entry(store.log.entry(i)) for i in store.item(copy.item_id).custody_entries
    ]
    assert [e["event"] for e in copy_events] == ["ingested", "derived"]
    assert copy_events[1]["details"]["from_item"] == original.item_id
    last = parse_custody_entry(store.log.entry(store.item(original.item_id).custody_entries[-1]))
    assert last["event"] == "derived"
    assert last["details"]["to_item"] == copy.item_id


def test_h264_encoder_notes_inside_the_picture_stream_are_dropped(
    event: Event, tmp_path: Path
) -> None:
    data = make_video(tmp_path / "in.mp4")
    assert b"x264 - core" in data  # libx264 writes its name and settings into an SEI unit
    _original, copy = _upload_and_redact(event, data, "march.mp4", "video/mp4")
    assert b"x264 - core" not in stored_bytes(copy)


def test_no_plaintext_is_left_in_the_data_directory(event: Event, tmp_path: Path) -> None:
    data = make_video(tmp_path / "in.mp4")
    _upload_and_redact(event, data, "march.mp4", "video/mp4")
    assert list(Path(settings.DATA_DIR).glob(f"{redaction_video.SCRATCH_PREFIX}*")) == []


def test_a_video_ffmpeg_cannot_read_is_refused_and_leaves_nothing_behind(
    event: Event, tmp_path: Path
) -> None:
    broken = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 4000
    original = _uploaded(event, broken, "broken.mp4")
    response = _ask_for_copy(event, original)
    assert not Attachment.objects.filter(kind=AttachmentKind.WORKING_COPY).exists()
    assert "ffmpeg could not copy this video" in response.content.decode()
    assert list(Path(settings.DATA_DIR).glob(f"{redaction_video.SCRATCH_PREFIX}*")) == []


def test_scratch_left_by_a_crash_is_swept_once_stale() -> None:
    root = Path(settings.DATA_DIR)
    stale = root / f"{redaction_video.SCRATCH_PREFIX}crashed"
    fresh = root / f"{redaction_video.SCRATCH_PREFIX}running"
    for directory in (stale, fresh):
        directory.mkdir(mode=0o700)
        (directory / "original").write_bytes(b"plaintext")
    old = time.time() - redaction_video.SCRATCH_MAX_AGE - 60
    os.utime(stale, (old, old))
    try:
        assert redaction_video.sweep_stale_scratch() == 1
        assert not stale.exists()
        assert fresh.exists()
    finally:
        shutil.rmtree(fresh, ignore_errors=True)
        shutil.rmtree(stale, ignore_errors=True)


def test_scratch_directory_is_private(tmp_path: Path) -> None:
    with redaction_video.private_scratch() as scratch:
        assert scratch.parent == Path(settings.DATA_DIR)
        assert scratch.stat().st_mode & 0o777 == 0o700
    assert not scratch.exists()


def test_without_ffmpeg_the_attorney_is_told_why(
    event: Event, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = make_video(tmp_path / "in.mp4")
    monkeypatch.setattr(settings, "FFMPEG_BINARY", "no-such-ffmpeg", raising=False)
    response = _ask_for_copy(event, _uploaded(event, data))
    assert "ffmpeg is not installed" in response.content.decode()
    assert not Attachment.objects.filter(kind=AttachmentKind.WORKING_COPY).exists()


def test_a_video_copy_is_downloaded_to_be_watched_and_shared_only_after_the_check(
    event: Event, tmp_path: Path
) -> None:
    data = make_video(tmp_path / "in.mp4")
    _original, copy = _upload_and_redact(event, data, "march.mp4", "video/mp4")
    lawyer = signed_in_client(event.lawyer)
    download = reverse("field:download", args=[copy.pk])
    check = reverse("field:working_copy_check", args=[copy.pk])
    assert signed_in_client(event.alice).get(download).status_code == 403
    page = lawyer.get(check)
    # testsrc shows no face: every frame was searched, none was blurred.
    assert b"The detector blurred faces in 0 frames of 10." in page.content
    assert b"Watch the whole copy" in page.content
    assert b"I have watched this copy and it shows no face that must be hidden" in page.content
    preview = lawyer.get(reverse("field:working_copy_preview", args=[copy.pk]))
    assert preview["Content-Disposition"].startswith("attachment")
    assert b"".join(preview.streaming_content) == stored_bytes(copy)  # type: ignore[attr-defined]
    store = evidence_store()
    last = parse_custody_entry(store.log.entry(store.item(copy.item_id).custody_entries[-1]))
    assert (last["event"], last["details"]) == ("downloaded", {"purpose": "check"})
    # Blurring by hand is for photos only.
    lawyer.post(check, {"decision": "redo", "boxes": "0, 0, 10, 10"})
    assert Attachment.objects.filter(kind=AttachmentKind.WORKING_COPY).count() == 1
    lawyer.post(check, {"decision": "approve", "confirmed": "on"})
    last = parse_custody_entry(store.log.entry(store.item(copy.item_id).custody_entries[-1]))
    assert last["details"]["check"] == "approved"
    assert "watched" in last["details"]["statement"]
    response = signed_in_client(event.alice).get(download)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == stored_bytes(copy)  # type: ignore[attr-defined]


def test_a_video_over_the_limit_is_refused_before_any_work(
    event: Event, tmp_path: Path, settings: Any
) -> None:
    data = make_video(tmp_path / "in.mp4")
    settings.FIELD_MAX_REDACT_VIDEO_BYTES = len(data) - 1
    response = _ask_for_copy(event, _uploaded(event, data))
    assert "The video is too large to redact here." in response.content.decode()
    assert not Attachment.objects.filter(kind=AttachmentKind.WORKING_COPY).exists()
