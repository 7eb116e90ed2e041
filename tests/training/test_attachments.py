from __future__ import annotations

import io

import pytest
from django.test import override_settings

from amparo.training.attachments import AttachmentRejected, check_upload, sniff
from amparo.training.models import AttachmentKind
from amparo.training.storage import attachment_storage, media_root

PDF = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n"
MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\x00" * 20
OGG = b"OggS\x00\x02" + b"\x00" * 20
WAV = b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 20


@pytest.mark.parametrize(
    ("content", "kind", "content_type"),
    [
        (PDF, AttachmentKind.PDF, "application/pdf"),
        (MP3, AttachmentKind.AUDIO, "audio/mpeg"),
        (OGG, AttachmentKind.AUDIO, "audio/ogg"),
        (WAV, AttachmentKind.AUDIO, "audio/wav"),
    ],
)
def test_type_is_judged_by_content(content: bytes, kind: str, content_type: str) -> None:
    found = check_upload("handout", len(content), io.BytesIO(content))
    assert found.kind == kind
    assert found.content_type == content_type


def test_a_web_page_named_pdf_is_refused() -> None:
    page = b"<html><script>alert(1)</script></html>"
    with pytest.raises(AttachmentRejected, match=r"handout\.pdf is not a PDF or an audio file"):
        check_upload("handout.pdf", len(page), io.BytesIO(page))


def test_the_stream_is_left_where_it_was() -> None:
    stream = io.BytesIO(PDF)
    check_upload("a.pdf", len(PDF), stream)
    assert stream.read() == PDF


@override_settings(AMPARO_TRAINING_ATTACHMENT_MAX_BYTES=3 * 1024 * 1024)
def test_files_over_the_limit_are_refused() -> None:
    with pytest.raises(AttachmentRejected, match="the limit is 3 MB"):
        check_upload("talk.mp3", 3 * 1024 * 1024 + 1, io.BytesIO(MP3))


def test_empty_files_are_refused() -> None:
    with pytest.raises(AttachmentRejected, match="empty"):
        check_upload("x.pdf", 0, io.BytesIO(b""))


def test_unknown_bytes_are_not_sniffed() -> None:
    assert sniff(b"PK\x03\x04zipfile") is None


def test_files_live_under_the_data_directory_with_no_public_url(settings) -> None:
    storage = attachment_storage()
    assert media_root() == settings.DATA_DIR / "media"
    assert str(storage.location) == str(media_root())
    with pytest.raises(ValueError, match="no public URL"):
        storage.url("training/2025/01/handout.pdf")
