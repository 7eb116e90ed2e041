"""What a trainer may attach to a module: a PDF or an audio file, judged by its bytes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO

from django.conf import settings
from django.utils.translation import gettext as _

from amparo.training.models import AttachmentKind

DEFAULT_MAX_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True)
class Sniffed:
    kind: AttachmentKind
    content_type: str


class AttachmentRejected(ValueError):
    """An upload that is not a supported PDF or audio file, or is too large."""


def max_attachment_bytes() -> int:
    return int(getattr(settings, "AMPARO_TRAINING_ATTACHMENT_MAX_BYTES", DEFAULT_MAX_BYTES))


def sniff(head: bytes) -> Sniffed | None:
    """The kind of file these first bytes begin, or None if it is not one we accept."""
    if head.startswith(b"%PDF-"):
        return Sniffed(AttachmentKind.PDF, "application/pdf")
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return Sniffed(AttachmentKind.AUDIO, "audio/mpeg")
    if head.startswith(b"OggS"):
        return Sniffed(AttachmentKind.AUDIO, "audio/ogg")
    if head.startswith(b"fLaC"):
        return Sniffed(AttachmentKind.AUDIO, "audio/flac")
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return Sniffed(AttachmentKind.AUDIO, "audio/wav")
    if head[4:8] == b"ftyp" and head[8:11] in {b"M4A", b"M4B", b"mp4", b"iso", b"dash"}:
        return Sniffed(AttachmentKind.AUDIO, "audio/mp4")
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return Sniffed(AttachmentKind.AUDIO, "audio/webm")
    return None


def check_upload(name: str, size: int, stream: IO[bytes]) -> Sniffed:
    """Accept a PDF or audio file within the size limit; say what is wrong otherwise."""
    limit = max_attachment_bytes()
    if size > limit:
        raise AttachmentRejected(
            _("%(name)s is %(size)d MB; the limit is %(limit)d MB.")
            % {"name": name, "size": size // (1024 * 1024), "limit": limit // (1024 * 1024)}
        )
    if size == 0:
        raise AttachmentRejected(_("%(name)s is empty.") % {"name": name})
    position = stream.tell()
    head = stream.read(16)
    stream.seek(position)
    found = sniff(head)
    if found is None:
        raise AttachmentRejected(
            _(
                "%(name)s is not a PDF or an audio file (MP3, Ogg, FLAC, WAV, M4A or WebM), "
                "judging by its contents. Save it in one of those formats and try again."
            )
            % {"name": name}
        )
    return found
