"""What an upload is, judged by its first bytes, never by its name or the browser's word."""

from __future__ import annotations

from dataclasses import dataclass

# Enough bytes to recognise every format below.
HEAD_SIZE = 64


@dataclass(frozen=True)
class MediaType:
    name: str
    kind: str  # photo, video, audio or document
    extension: str


_JPEG = MediaType("image/jpeg", "photo", "jpg")
_PNG = MediaType("image/png", "photo", "png")
_GIF = MediaType("image/gif", "photo", "gif")
_WEBP = MediaType("image/webp", "photo", "webp")
_HEIC = MediaType("image/heic", "photo", "heic")
_MP4 = MediaType("video/mp4", "video", "mp4")
_QUICKTIME = MediaType("video/quicktime", "video", "mov")
_3GP = MediaType("video/3gpp", "video", "3gp")
_WEBM = MediaType("video/webm", "video", "webm")
_M4A = MediaType("audio/mp4", "audio", "m4a")
_OGG = MediaType("audio/ogg", "audio", "ogg")
_MP3 = MediaType("audio/mpeg", "audio", "mp3")
_WAV = MediaType("audio/wav", "audio", "wav")
_AMR = MediaType("audio/amr", "audio", "amr")
_PDF = MediaType("application/pdf", "document", "pdf")

_ISO_BRANDS = {
    b"heic": _HEIC,
    b"heix": _HEIC,
    b"mif1": _HEIC,
    b"msf1": _HEIC,
    b"qt  ": _QUICKTIME,
    b"M4A ": _M4A,
    b"M4B ": _M4A,
    b"3gp4": _3GP,
    b"3gp5": _3GP,
    b"3gp6": _3GP,
    b"3g2a": _3GP,
}


def detect(head: bytes) -> MediaType | None:
    """The media type of a file from its first HEAD_SIZE bytes, or None if not accepted."""
    if head.startswith(b"\xff\xd8\xff"):
        return _JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return _PNG
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return _GIF
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return _WEBP
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return _WAV
    if head[4:8] == b"ftyp":
        return _ISO_BRANDS.get(head[8:12], _MP4)
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return _WEBM
    if head.startswith(b"OggS"):
        return _OGG
    if head.startswith(b"ID3") or head[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
        return _MP3
    if head.startswith(b"#!AMR"):
        return _AMR
    if head.startswith(b"%PDF-"):
        return _PDF
    return None


def accepted_description() -> str:
    return "JPEG, PNG, GIF, WebP, HEIC, MP4, MOV, 3GP, WebM, M4A, Ogg, MP3, WAV, AMR, PDF"
