"""Small JPEG files built by hand, one carrying EXIF with a GPS position and a camera make."""

from __future__ import annotations

import struct

CAMERA_MAKE = b"PhoneMaker X1"


def _segment(marker: int, body: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(body) + 2) + body


def _exif_with_gps() -> bytes:
    """A little-endian TIFF block: IFD0 (Make, GPS pointer) and a GPS IFD (latitude)."""
    header = b"II*\x00" + struct.pack("<I", 8)
    ifd0_offset = 8
    ifd0_entries = 2
    ifd0_size = 2 + ifd0_entries * 12 + 4
    make_offset = ifd0_offset + ifd0_size
    make = CAMERA_MAKE + b"\x00"
    gps_offset = make_offset + len(make)
    gps_size = 2 + 2 * 12 + 4
    latitude_offset = gps_offset + gps_size
    ifd0 = struct.pack("<H", ifd0_entries)
    ifd0 += struct.pack("<HHII", 0x010F, 2, len(make), make_offset)  # Make
    ifd0 += struct.pack("<HHII", 0x8825, 4, 1, gps_offset)  # GPSInfo pointer
    ifd0 += struct.pack("<I", 0)
    gps = struct.pack("<H", 2)
    gps += struct.pack("<HHI", 0x0001, 2, 2) + b"N\x00\x00\x00"  # GPSLatitudeRef
    gps += struct.pack("<HHII", 0x0002, 5, 3, latitude_offset)  # GPSLatitude
    gps += struct.pack("<I", 0)
    latitude = struct.pack("<IIIIII", 40, 1, 42, 1, 4614, 100)
    return b"Exif\x00\x00" + header + ifd0 + make + gps + latitude


def jpeg(with_gps: bool = False, seed: int = 0) -> bytes:
    """A structurally valid baseline JPEG (8x8 grey); with_gps adds an EXIF APP1 segment."""
    out = b"\xff\xd8"
    out += _segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
    if with_gps:
        out += _segment(0xE1, _exif_with_gps())
    out += _segment(0xFE, b"comment from the camera")
    out += _segment(0xDB, b"\x00" + bytes([1 + (seed % 50)] * 64))
    out += _segment(0xC0, b"\x08\x00\x08\x00\x08\x01\x01\x11\x00")
    out += _segment(0xC4, b"\x00" + bytes([0, 1] + [0] * 14) + b"\x00")
    out += _segment(0xC4, b"\x10" + bytes([0, 1] + [0] * 14) + b"\x00")
    out += _segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
    out += bytes([0x12, 0xFF, 0x00, 0x34, seed % 256, 0x56]) + b"\xff\xd9"
    return out
