"""Redacted working copies of videos: no location, device or time metadata (ffmpeg).

The streams are copied as they are (``-c copy``: no re-encoding, so no loss); what goes is
every container tag (``-map_metadata -1``: location, make, model, creation time, software),
chapters (``-map_chapters -1``) and every stream that is not picture or sound: phones and
action cameras keep GPS tracks, timed metadata and subtitles as data streams of their own.
``-fflags +bitexact`` keeps ffmpeg from writing its own name and version into the copy. In
H.264 and H.265 video the SEI units (free-form encoder and device notes inside the picture
stream, never needed to decode it) are dropped too.

Plaintext on disk: an MP4 or MOV from a phone usually has its index at the end, so ffmpeg
needs a seekable input file, and MP4 output needs a seekable file too. The decrypted original
and the copy are therefore written to a private scratch directory (mode 0700) inside the data
directory, never /tmp, and the directory is removed in ``finally`` whether ffmpeg succeeded
or not. Scratch directories a crash left behind are removed by the next redaction once they
are older than SCRATCH_MAX_AGE.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext as _

from amparo.custody.evidence import evidence_store

FFMPEG_TIMEOUT_SECONDS = 600
SCRATCH_PREFIX = ".redaction-"
SCRATCH_MAX_AGE = 2 * FFMPEG_TIMEOUT_SECONDS
# Redaction runs inside the request: 512 MiB took about 8 s here (decrypt, copy, ingest),
# well inside gunicorn's 30 s. Larger videos would need a background task.
DEFAULT_MAX_VIDEO_BYTES = 512 * 1024 * 1024
_COPY_BLOCK = 1024 * 1024

# Media type -> ffmpeg muxer. The muxer keeps the container the original came in.
VIDEO_MUXERS = {
    "video/mp4": "mp4",
    "video/quicktime": "mov",
    "video/3gpp": "3gp",
    "video/webm": "webm",
}


class VideoRedactionError(ValueError):
    """ffmpeg is missing or could not copy the video; the message says why."""


def max_video_bytes() -> int:
    return int(getattr(settings, "FIELD_MAX_REDACT_VIDEO_BYTES", DEFAULT_MAX_VIDEO_BYTES))


def ffmpeg_path() -> str | None:
    return shutil.which(str(getattr(settings, "FFMPEG_BINARY", "ffmpeg")))


# Codec -> bitstream filter dropping its SEI units (H.264 type 6; H.265 types 39 and 40).
_SEI_FILTERS = {
    "h264": "filter_units=remove_types=6",
    "hevc": "filter_units=remove_types=39|40",
}


def video_codec(source: Path) -> str:
    """The first video stream's codec name as ffprobe reports it, or "" if unknown."""
    ffprobe = shutil.which(str(getattr(settings, "FFPROBE_BINARY", "ffprobe")))
    if ffprobe is None:
        return ""
    finished = subprocess.run(  # fixed arguments, no shell
        [
            ffprobe,
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=codec_name",
            "-of",
            "csv=p=0",
            str(source),
        ],
        capture_output=True,
        timeout=60,
        check=False,
    )
    return finished.stdout.decode("ascii", "replace").strip() if finished.returncode == 0 else ""


def ffmpeg_command(
    ffmpeg: str, source: Path, target: Path, muxer: str, codec: str = ""
) -> list[str]:
    sei_filter = _SEI_FILTERS.get(codec)
    return [
        ffmpeg,
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        "-i",
        str(source),
        # Picture and sound only; "?" lets a silent video through.
        "-map",
        "0:v?",
        "-map",
        "0:a?",
        "-c",
        "copy",
        *(["-bsf:v", sei_filter] if sei_filter else []),
        "-map_metadata",
        "-1",
        "-map_metadata:s",
        "-1",
        "-map_chapters",
        "-1",
        "-fflags",
        "+bitexact",
        "-f",
        muxer,
        str(target),
    ]


def scratch_root() -> Path:
    return Path(settings.DATA_DIR)


def sweep_stale_scratch(now: float | None = None) -> int:
    """Remove scratch directories a crashed redaction left behind; return how many."""
    now = time.time() if now is None else now
    removed = 0
    for entry in scratch_root().glob(f"{SCRATCH_PREFIX}*"):
        try:
            if entry.is_dir() and now - entry.stat().st_mtime > SCRATCH_MAX_AGE:
                shutil.rmtree(entry, ignore_errors=True)
                removed += 1
        except FileNotFoundError:
            continue
    return removed


@contextmanager
def private_scratch() -> Iterator[Path]:
    """A directory only this process's user can enter, removed with everything in it."""
    sweep_stale_scratch()
    directory = Path(tempfile.mkdtemp(prefix=SCRATCH_PREFIX, dir=scratch_root()))
    try:
        os.chmod(directory, 0o700)
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _write_original(item_id: str, sha256: str, path: Path) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as out, evidence_store().blobs.open(item_id, sha256) as reader:
        while block := reader.read(_COPY_BLOCK):
            out.write(block)


@contextmanager
def redacted_video(item_id: str, sha256: str, media_type: str) -> Iterator[Path]:
    """Yield the path of a metadata-free copy of a stored video; gone once the block ends."""
    muxer = VIDEO_MUXERS.get(media_type)
    if muxer is None:
        raise VideoRedactionError(
            _("Redacted copies of %(type)s files are not available yet.") % {"type": media_type}
        )
    ffmpeg = ffmpeg_path()
    if ffmpeg is None:
        raise VideoRedactionError(
            _("Videos cannot be redacted on this server: ffmpeg is not installed.")
        )
    with private_scratch() as scratch:
        source = scratch / "original"
        target = scratch / f"copy.{muxer}"
        _write_original(item_id, sha256, source)
        try:
            finished = subprocess.run(  # fixed arguments, no shell
                ffmpeg_command(ffmpeg, source, target, muxer, video_codec(source)),
                capture_output=True,
                timeout=FFMPEG_TIMEOUT_SECONDS,
                check=False,
            )
        except subprocess.TimeoutExpired as error:
            raise VideoRedactionError(_("The video took too long to redact.")) from error
        source.unlink()
        if finished.returncode != 0 or not target.exists() or target.stat().st_size == 0:
            raise VideoRedactionError(
                _("ffmpeg could not copy this video without its metadata: %(reason)s")
                % {"reason": finished.stderr.decode("utf-8", "replace").strip()[-300:]}
            )
        yield target
