"""Blurring bystanders' faces in photo working copies, offline.

Faces are found with the Haar cascades that ship inside the opencv-python-headless wheel
(``cv2.data``): nothing is downloaded, ever. Detection serves only to blur: no face is
recognised, identified, described, compared or kept. What a detection leaves behind is a
rectangle of pixels that is then destroyed; only the number of rectangles goes into the
custody log.

A detector misses faces (turned away, small, in shadow) and sometimes blurs something that
is not a face, so every copy waits for an attorney's check (see redaction_review.py), who
can add rectangles by hand or reject the copy.

The blur averages each rectangle down to a grid of at most 8 by 8 cells and stretches that
back smoothly, so that no detail of the face survives to be sharpened back. The copy is
re-encoded from the decoded pixels, which carries no metadata at all, and any EXIF
orientation is applied first so the copy looks the way the original is shown.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from django.utils.translation import gettext as _

MAX_PIXELS = 50_000_000
JPEG_QUALITY = 92
# The margin added on every side of a detected face, as a share of its size: detections are
# tight around eyes and mouth and leave hairline, ears and jaw outside.
FACE_MARGIN = 0.25
PIXELATE_CELLS = 8
_CASCADES = ("haarcascade_frontalface_default.xml", "haarcascade_profileface.xml")
_ENCODINGS = {"image/jpeg": ".jpg", "image/png": ".png"}


class FaceBlurError(ValueError):
    """The photo could not be decoded or encoded; the message says why."""


@dataclass(frozen=True)
class Box:
    """A rectangle of pixels: left, top, width, height."""

    x: int
    y: int
    width: int
    height: int

    def grown(self, margin: float, image_width: int, image_height: int) -> Box:
        dx = int(self.width * margin)
        dy = int(self.height * margin)
        left = max(0, self.x - dx)
        top = max(0, self.y - dy)
        right = min(image_width, self.x + self.width + dx)
        bottom = min(image_height, self.y + self.height + dy)
        return Box(left, top, max(0, right - left), max(0, bottom - top))


def cascade_directory() -> Path:
    """Where the opencv wheel keeps its Haar cascades (cv2.data.haarcascades)."""
    return Path(cv2.__file__).parent / "data"


# OpenCV's cascade classifiers keep working state inside the object and release the
# interpreter lock while they detect: two threads sharing one get wrong boxes (faces missed)
# or errors. Each thread of a server process gets its own.
_per_thread = threading.local()


def _classifiers() -> tuple[Any, ...]:
    loaded: tuple[Any, ...] | None = getattr(_per_thread, "classifiers", None)
    if loaded is None:
        loaded = _load_classifiers()
        _per_thread.classifiers = loaded
    return loaded


def _load_classifiers() -> tuple[Any, ...]:
    loaded = []
    for name in _CASCADES:
        path = cascade_directory() / name
        classifier = cv2.CascadeClassifier(str(path))
        if classifier.empty():
            raise FaceBlurError(
                _("The face detector's model is missing from the opencv package: %(file)s")
                % {"file": name}
            )
        loaded.append(classifier)
    return tuple(loaded)


def detect_faces(image: np.ndarray[Any, Any]) -> list[Box]:
    """Rectangles around frontal and profile faces (both directions) in a BGR image."""
    height, width = image.shape[:2]
    # No histogram equalisation: on plain backgrounds it makes any lit oval look like a face.
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    smallest = max(20, min(width, height) // 40)
    found: list[Box] = []
    frontal, profile = _classifiers()
    for classifier, flipped in ((frontal, False), (profile, False), (profile, True)):
        source = cv2.flip(grey, 1) if flipped else grey
        hits = classifier.detectMultiScale(
            source, scaleFactor=1.1, minNeighbors=5, minSize=(smallest, smallest)
        )
        for x, y, w, h in hits:
            left = width - int(x) - int(w) if flipped else int(x)
            found.append(Box(left, int(y), int(w), int(h)))
    return found


def blur_boxes(
    image: np.ndarray[Any, Any], boxes: list[Box], margin: float = FACE_MARGIN
) -> np.ndarray[Any, Any]:
    """A copy of the image with every box (grown by the margin) made unrecognisable."""
    height, width = image.shape[:2]
    out = image.copy()
    for box in boxes:
        area = box.grown(margin, width, height)
        if area.width < 2 or area.height < 2:
            continue
        region = out[area.y : area.y + area.height, area.x : area.x + area.width]
        cells_x = max(1, min(PIXELATE_CELLS, area.width // 2))
        cells_y = max(1, min(PIXELATE_CELLS, area.height // 2))
        # Averaged down to a few cells, then stretched back smoothly: nothing finer than a
        # cell survives, and the cost does not grow with the size of the face.
        coarse = cv2.resize(region, (cells_x, cells_y), interpolation=cv2.INTER_AREA)
        out[area.y : area.y + area.height, area.x : area.x + area.width] = cv2.resize(
            coarse, (area.width, area.height), interpolation=cv2.INTER_LINEAR
        )
    return out


def decode(data: bytes) -> np.ndarray[Any, Any]:
    """The photo's pixels (BGR), turned the way its EXIF orientation says."""
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise FaceBlurError(_("The photo could not be read to blur faces."))
    height, width = image.shape[:2]
    if height * width > MAX_PIXELS:
        raise FaceBlurError(_("The photo has too many pixels to blur faces here."))
    return image


def encode(image: np.ndarray[Any, Any], media_type: str) -> bytes:
    extension = _ENCODINGS.get(media_type)
    if extension is None:
        raise FaceBlurError(
            _("Faces cannot be blurred in %(type)s files yet.") % {"type": media_type}
        )
    options = [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY] if extension == ".jpg" else []
    ok, encoded = cv2.imencode(extension, image, options)
    if not ok:
        raise FaceBlurError(_("The blurred photo could not be written."))
    return bytes(encoded.tobytes())


@dataclass(frozen=True)
class BlurResult:
    data: bytes
    detected: int
    added_by_hand: int


def blur_faces(
    data: bytes, media_type: str, extra_boxes: list[Box] | None = None, *, detect: bool = True
) -> BlurResult:
    """The photo re-encoded with detected faces (if ``detect``) and boxes given by hand blurred."""
    image = decode(data)
    detected = detect_faces(image) if detect else []
    by_hand = list(extra_boxes or [])
    blurred = blur_boxes(image, detected)
    # Boxes given by hand are exactly what the attorney marked; they are not grown.
    blurred = blur_boxes(blurred, by_hand, margin=0.0)
    return BlurResult(encode(blurred, media_type), len(detected), len(by_hand))


def can_blur(media_type: str) -> bool:
    return media_type in _ENCODINGS


def parse_boxes(text: str, image_width: int, image_height: int) -> list[Box]:
    """Boxes written one a line as "left, top, width, height" in pixels."""
    boxes: list[Box] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = [part.strip() for part in line.replace(";", ",").split(",")]
        try:
            x, y, w, h = (int(part) for part in parts)
        except ValueError as error:
            raise FaceBlurError(
                _("Line %(line)d: write four whole numbers: left, top, width, height.")
                % {"line": number}
            ) from error
        if x < 0 or y < 0 or w <= 0 or h <= 0 or x + w > image_width or y + h > image_height:
            raise FaceBlurError(
                _("Line %(line)d: the box is not inside the %(width)d × %(height)d photo.")
                % {"line": number, "width": image_width, "height": image_height}
            )
        boxes.append(Box(x, y, w, h))
    return boxes


# Video frames are searched at reduced size: a face a detector can find at this size is still
# found, and a frame costs a fraction of the time.
VIDEO_DETECT_MAX_SIDE = 480


def detect_faces_reduced(
    image: np.ndarray[Any, Any], max_side: int = VIDEO_DETECT_MAX_SIDE
) -> list[Box]:
    """detect_faces on a copy shrunk to at most ``max_side`` pixels a side, in full-size pixels."""
    height, width = image.shape[:2]
    scale = max_side / max(width, height)
    if scale >= 1:
        return detect_faces(image)
    small = cv2.resize(
        image,
        (max(1, round(width * scale)), max(1, round(height * scale))),
        interpolation=cv2.INTER_AREA,
    )
    found = []
    for box in detect_faces(small):
        left = int(box.x / scale)
        top = int(box.y / scale)
        right = min(width, int((box.x + box.width) / scale + 1))
        bottom = min(height, int((box.y + box.height) / scale + 1))
        found.append(Box(left, top, right - left, bottom - top))
    return found
