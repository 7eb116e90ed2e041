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

Faces: unless the attorney leaves them unblurred, the picture is decoded frame by frame by
one ffmpeg (raw pixels through a pipe, at the stream's average frame rate so the sound stays
in step), every frame is searched with the photo path's detector (redaction_faces.py) and
the boxes found in it and in the frames just before and after are blurred (a face the
detector misses for one frame does not flash through). A second ffmpeg encodes the frames
(H.264, or VP9 for WebM) and takes the ORIGINAL sound from the scratch copy unchanged, with
the same metadata, chapter and SEI rules as the stream copy. Only counts are kept: frames,
frames with a face blurred, boxes blurred. This runs inside the request, so videos longer
than max_blur_seconds() are refused with a message that says so.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import IO, Any

import numpy as np
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from amparo.custody.evidence import evidence_store
from amparo.field.redaction_faces import Box, blur_boxes, detect_faces_reduced

FFMPEG_TIMEOUT_SECONDS = 600
SCRATCH_PREFIX = ".redaction-"
SCRATCH_MAX_AGE = 2 * FFMPEG_TIMEOUT_SECONDS
# Redaction runs inside the request: 512 MiB took about 8 s here (decrypt, copy, ingest),
# well inside gunicorn's 30 s. Larger videos would need a background task.
DEFAULT_MAX_VIDEO_BYTES = 512 * 1024 * 1024
_COPY_BLOCK = 1024 * 1024
# Blurring decodes, searches and re-encodes every frame inside the request: 10 s of 640 x 360
# at 30 frames a second took about 11 s here (2 cores), so 15 s of video stays inside
# gunicorn's 30 s. Longer videos would need a background task.
DEFAULT_MAX_BLUR_SECONDS = 15

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


def max_blur_seconds() -> int:
    return int(getattr(settings, "FIELD_MAX_BLUR_VIDEO_SECONDS", DEFAULT_MAX_BLUR_SECONDS))


def ffmpeg_path() -> str | None:
    return shutil.which(str(getattr(settings, "FFMPEG_BINARY", "ffmpeg")))


# Codec -> bitstream filter dropping its SEI units (H.264 type 6; H.265 types 39 and 40).
_SEI_FILTERS = {
    "h264": "filter_units=remove_types=6",
    "hevc": "filter_units=remove_types=39|40",
}


def _ffprobe_first_video(
    source: Path, entries: str, output: str
) -> subprocess.CompletedProcess[bytes] | None:
    """ffprobe's `entries` for the first video stream of `source`, in `output` format; None
    when ffprobe is not installed."""
    ffprobe = shutil.which(str(getattr(settings, "FFPROBE_BINARY", "ffprobe")))
    if ffprobe is None:
        return None
    return subprocess.run(  # fixed arguments, no shell
        [
            ffprobe,
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            entries,
            "-of",
            output,
            str(source),
        ],
        capture_output=True,
        timeout=60,
        check=False,
    )


def video_codec(source: Path) -> str:
    """The first video stream's codec name as ffprobe reports it, or "" if unknown."""
    finished = _ffprobe_first_video(source, "stream=codec_name", "csv=p=0")
    if finished is None or finished.returncode != 0:
        return ""
    return finished.stdout.decode("ascii", "replace").strip()


_QUIET = ["-nostdin", "-hide_banner", "-loglevel", "error"]
# Container and stream tags and chapters, in every command that writes a working copy.
_NO_METADATA = ["-map_metadata", "-1", "-map_metadata:s", "-1", "-map_chapters", "-1"]


def ffmpeg_command(
    ffmpeg: str, source: Path, target: Path, muxer: str, codec: str = ""
) -> list[str]:
    sei_filter = _SEI_FILTERS.get(codec)
    return [
        ffmpeg,
        *_QUIET,
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
        *_NO_METADATA,
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


def _checked_ffmpeg(media_type: str) -> tuple[str, str]:
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
    return ffmpeg, muxer


@contextmanager
def redacted_video(item_id: str, sha256: str, media_type: str) -> Iterator[Path]:
    """Yield the path of a metadata-free copy of a stored video; gone once the block ends."""
    ffmpeg, muxer = _checked_ffmpeg(media_type)
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


# --- Faces blurred: decode, detect and blur every frame, encode, original sound ---------------


@dataclass(frozen=True)
class FaceCounts:
    """What blurring leaves behind: numbers only, never a face or where it was."""

    frames: int
    frames_with_faces: int
    boxes: int


@dataclass(frozen=True)
class PictureFacts:
    width: int  # as shown, after the rotation a phone asks for
    height: int
    rate: Fraction
    duration: float


# Encoders by muxer: WebM takes only VP8, VP9 or AV1; the others take H.264.
_ENCODERS = {
    "webm": [
        "-c:v",
        "libvpx-vp9",
        "-deadline",
        "realtime",
        "-cpu-used",
        "8",
        "-crf",
        "30",
        "-b:v",
        "0",
    ],
}
_H264 = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "20"]
_BITEXACT = ["-fflags", "+bitexact", "-flags:v", "+bitexact"]


def _rate(text: str) -> Fraction | None:
    try:
        rate = Fraction(text)
    except (ValueError, ZeroDivisionError):
        return None
    return rate if 0 < rate <= 240 else None


def picture_facts(source: Path) -> PictureFacts:
    """Size, frame rate and duration of the first video stream, read by ffprobe."""
    finished = _ffprobe_first_video(
        source,
        "stream=width,height,avg_frame_rate,r_frame_rate:stream_side_data=rotation:format=duration",
        "json",
    )
    if finished is None:
        raise VideoRedactionError(
            _("Faces in videos cannot be blurred on this server: ffprobe is not installed.")
        )
    try:
        probed: dict[str, Any] = json.loads(finished.stdout or b"{}")
        stream = probed["streams"][0]
        width, height = int(stream["width"]), int(stream["height"])
    except (ValueError, KeyError, IndexError, TypeError) as error:
        raise VideoRedactionError(
            _("ffmpeg could not copy this video without its metadata: %(reason)s")
            % {"reason": finished.stderr.decode("utf-8", "replace").strip()[-300:]}
        ) from error
    rotation = 0
    for side_data in stream.get("side_data_list", []):
        if "rotation" in side_data:
            rotation = int(float(side_data["rotation"]))
    if abs(rotation) % 180 == 90:
        width, height = height, width
    rate = _rate(str(stream.get("avg_frame_rate", ""))) or _rate(
        str(stream.get("r_frame_rate", ""))
    )
    try:
        duration = float(probed.get("format", {}).get("duration", "nan"))
    except ValueError:
        duration = float("nan")
    return PictureFacts(width, height, rate or Fraction(30), duration)


def decode_command(ffmpeg: str, source: Path, rate: Fraction) -> list[str]:
    """Raw BGR frames on stdout, at a constant rate so they line up with the sound."""
    return [
        ffmpeg,
        *_QUIET,
        "-i",
        str(source),
        "-map",
        "0:v:0",
        "-fps_mode",
        "cfr",
        "-r",
        str(rate),
        "-f",
        "rawvideo",
        "-pix_fmt",
        "bgr24",
        "pipe:1",
    ]


def encode_command(
    ffmpeg: str, facts: PictureFacts, source: Path, target: Path, muxer: str
) -> list[str]:
    """Frames from stdin encoded; the original's sound copied as it is; no metadata."""
    encoder = _ENCODERS.get(muxer, _H264)
    sei_filter = _SEI_FILTERS["h264"] if encoder is _H264 else None
    return [
        ffmpeg,
        *_QUIET,
        "-f",
        "rawvideo",
        "-pix_fmt",
        "bgr24",
        "-video_size",
        f"{facts.width}x{facts.height}",
        "-framerate",
        str(facts.rate),
        "-i",
        "pipe:0",
        "-i",
        str(source),
        "-map",
        "0:v:0",
        "-map",
        "1:a?",
        # yuv420p needs an even width and height: pad by a pixel rather than lose one.
        "-vf",
        "pad=ceil(iw/2)*2:ceil(ih/2)*2",
        *encoder,
        "-pix_fmt",
        "yuv420p",
        *(["-bsf:v", sei_filter] if sei_filter else []),
        "-c:a",
        "copy",
        *_NO_METADATA,
        *_BITEXACT,
        "-f",
        muxer,
        str(target),
    ]


def _read_frame(stream: IO[bytes], size: int) -> bytes | None:
    data = stream.read(size)
    return data if len(data) == size else None


def _blur_frames(
    decoder: subprocess.Popen[bytes],
    encoder: subprocess.Popen[bytes],
    facts: PictureFacts,
    deadline: float,
    max_frames: int,
) -> FaceCounts:
    """Each frame blurred where a face was found in it, the frame before or the frame after."""
    assert decoder.stdout is not None
    assert encoder.stdin is not None
    frame_bytes = facts.width * facts.height * 3
    shape = (facts.height, facts.width, 3)
    frames = frames_with_faces = boxes = 0
    previous: list[Box] = []
    current: tuple[np.ndarray[Any, Any], list[Box]] | None = None
    while True:
        raw = _read_frame(decoder.stdout, frame_bytes)
        following: tuple[np.ndarray[Any, Any], list[Box]] | None = None
        if raw is not None:
            frames += 1
            if frames > max_frames:
                raise VideoRedactionError(_too_long_message())
            if time.monotonic() > deadline:
                raise VideoRedactionError(_("The video took too long to redact."))
            image = np.frombuffer(raw, dtype=np.uint8).reshape(shape)
            found = detect_faces_reduced(image)
            boxes += len(found)
            following = (image, found)
        if current is not None:
            image, found = current
            around = previous + found + (following[1] if following else [])
            if around:
                frames_with_faces += 1
                image = blur_boxes(image, around)
            encoder.stdin.write(image.tobytes())
            previous = found
        if following is None:
            break
        current = following
    encoder.stdin.close()
    return FaceCounts(frames, frames_with_faces, boxes)


def _too_long_message() -> str:
    seconds = max_blur_seconds()
    return ngettext(
        "Faces can be blurred here only in videos up to %(seconds)d second long. Make the "
        "copy with faces left unblurred, or cut the video first.",
        "Faces can be blurred here only in videos up to %(seconds)d seconds long. Make the "
        "copy with faces left unblurred, or cut the video first.",
        seconds,
    ) % {"seconds": seconds}


def _stop(process: subprocess.Popen[bytes] | None) -> None:
    """Kill the process if it still runs, close its pipes and reap it."""
    if process is None:
        return
    if process.poll() is None:
        process.kill()
    for pipe in (process.stdin, process.stdout):
        if pipe is not None:
            with suppress(BrokenPipeError):
                pipe.close()
    process.wait()


def blur_video_faces(ffmpeg: str, source: Path, target: Path, muxer: str) -> FaceCounts:
    """Write ``target``: the source with faces blurred, sound untouched, no metadata."""
    facts = picture_facts(source)
    limit = max_blur_seconds()
    if facts.duration == facts.duration and facts.duration > limit:  # not NaN
        raise VideoRedactionError(_too_long_message())
    max_frames = int(limit * facts.rate) + 1
    scratch = source.parent
    decoder = encoder = None
    deadline = time.monotonic() + FFMPEG_TIMEOUT_SECONDS
    with (
        (scratch / "decode.log").open("w+b") as decode_log,
        (scratch / "encode.log").open("w+b") as encode_log,
    ):
        try:
            decoder = subprocess.Popen(  # fixed arguments, no shell
                decode_command(ffmpeg, source, facts.rate),
                stdout=subprocess.PIPE,
                stderr=decode_log,
                stdin=subprocess.DEVNULL,
            )
            encoder = subprocess.Popen(  # fixed arguments, no shell
                encode_command(ffmpeg, facts, source, target, muxer),
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=encode_log,
            )
            try:
                counts = _blur_frames(decoder, encoder, facts, deadline, max_frames)
            except BrokenPipeError:
                # The encoder gave up; the decoder, no longer read, must not wait for ever.
                counts = None
                _stop(decoder)
            decoded = decoder.wait(timeout=max(1.0, deadline - time.monotonic()))
            encoded = encoder.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired as error:
            raise VideoRedactionError(_("The video took too long to redact.")) from error
        finally:
            _stop(decoder)
            _stop(encoder)
        if counts is None or decoded != 0 or encoded != 0 or counts.frames == 0:
            decode_log.seek(0)
            encode_log.seek(0)
            reason = (decode_log.read() + encode_log.read()).decode("utf-8", "replace")
            raise VideoRedactionError(
                _("ffmpeg could not copy this video without its metadata: %(reason)s")
                % {"reason": reason.strip()[-300:]}
            )
    if not target.exists() or target.stat().st_size == 0:
        raise VideoRedactionError(
            _("ffmpeg could not copy this video without its metadata: %(reason)s") % {"reason": ""}
        )
    return counts


@contextmanager
def video_with_faces_blurred(
    item_id: str, sha256: str, media_type: str
) -> Iterator[tuple[Path, FaceCounts]]:
    """Yield a metadata-free copy with faces blurred and the counts; gone once the block ends."""
    ffmpeg, muxer = _checked_ffmpeg(media_type)
    with private_scratch() as scratch:
        source = scratch / "original"
        target = scratch / f"copy.{muxer}"
        _write_original(item_id, sha256, source)
        counts = blur_video_faces(ffmpeg, source, target, muxer)
        source.unlink()
        yield target, counts
