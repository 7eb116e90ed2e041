"""BagIt 1.0 (RFC 8493) building blocks: fast dual hashing, manifests and tag files.

A bag is a directory holding ``bagit.txt``, ``bag-info.txt``, a ``data/`` payload, payload
manifests (``manifest-sha256.txt``, ``manifest-sha512.txt``) and tag manifests covering the
other tag files. Manifest lines are ``<hex digest>  <path>``; the two spaces keep them readable
by ``sha256sum -c`` and ``sha512sum -c``, which RFC 8493 allows ("one or more whitespace").
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Protocol

BAGIT_TXT = "bagit.txt"
BAG_INFO_TXT = "bag-info.txt"
PAYLOAD_DIR = "data"
ALGORITHMS = ("sha256", "sha512")
BAGIT_DECLARATION = "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"

# Large reads keep the per-call overhead negligible; hashlib releases the GIL for them.
CHUNK_SIZE = 4 * 1024 * 1024
# Below this a worker thread costs more than it saves.
_THREAD_THRESHOLD = 256 * 1024

_HEX = {"sha256": re.compile(r"[0-9a-f]{64}"), "sha512": re.compile(r"[0-9a-f]{128}")}


class Readable(Protocol):
    """A binary stream (a file, a decrypting blob reader)."""

    def read(self, size: int = -1, /) -> bytes: ...


class WritableBytes(Protocol):
    """A binary stream that accepts bytes."""

    def write(self, data: bytes, /) -> int | None: ...


class BagError(ValueError):
    """A bag file is malformed; the message names the file."""


def manifest_name(algorithm: str) -> str:
    """Return the payload manifest file name for an algorithm, e.g. manifest-sha256.txt."""
    return f"manifest-{algorithm}.txt"


def tagmanifest_name(algorithm: str) -> str:
    """Return the tag manifest file name for an algorithm, e.g. tagmanifest-sha256.txt."""
    return f"tagmanifest-{algorithm}.txt"


@dataclass(frozen=True)
class FileDigests:
    """The SHA-256 and SHA-512 (hex) and length of one file."""

    sha256: str
    sha512: str
    size: int

    def of(self, algorithm: str) -> str:
        """Return the hex digest for "sha256" or "sha512"."""
        return self.sha256 if algorithm == "sha256" else self.sha512


class DualHasher:
    """SHA-256 and SHA-512 over the same bytes, the two running on separate cores.

    Use as a context manager; call update() with each chunk, then digests().
    """

    def __init__(self) -> None:
        self._sha256 = hashlib.sha256()
        self._sha512 = hashlib.sha512()
        self._size = 0
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sha512")

    def __enter__(self) -> DualHasher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop the worker thread."""
        self._worker.shutdown(wait=True)

    def update(self, chunk: bytes | bytearray | memoryview) -> None:
        """Feed one chunk to both hashes; returns when both have consumed it."""
        self._size += len(chunk)
        if len(chunk) < _THREAD_THRESHOLD:
            self._sha256.update(chunk)
            self._sha512.update(chunk)
            return
        pending = self._worker.submit(self._sha512.update, chunk)
        self._sha256.update(chunk)
        pending.result()

    def digests(self) -> FileDigests:
        """Return the digests of everything fed so far."""
        return FileDigests(self._sha256.hexdigest(), self._sha512.hexdigest(), self._size)


def hash_stream(source: Readable, sink: WritableBytes | None = None) -> FileDigests:
    """Hash a stream in large chunks, optionally copying it to `sink` as it goes."""
    with DualHasher() as hasher:
        while chunk := source.read(CHUNK_SIZE):
            hasher.update(chunk)
            if sink is not None:
                sink.write(chunk)
        return hasher.digests()


def hash_file(path: Path) -> FileDigests:
    """Hash one file with SHA-256 and SHA-512 in a single pass over it."""
    buffer = bytearray(CHUNK_SIZE)
    view = memoryview(buffer)
    with path.open("rb", buffering=0) as source, DualHasher() as hasher:
        while count := source.readinto(view):
            hasher.update(view[:count])
        return hasher.digests()


def sha256_hex(content: bytes) -> str:
    """Return the hex SHA-256 of small in-memory content such as a tag manifest."""
    return hashlib.sha256(content).hexdigest()


def encode_path(relative: str) -> str:
    """Percent-encode a manifest path as RFC 8493 §2.1.3 requires (CR, LF and %)."""
    return relative.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def decode_path(encoded: str) -> str:
    """Undo encode_path."""
    return (
        encoded.replace("%0D", "\r")
        .replace("%0d", "\r")
        .replace("%0A", "\n")
        .replace("%0a", "\n")
        .replace("%25", "%")
    )


def format_manifest(digests: Mapping[str, str]) -> str:
    """Render a manifest: one "<digest>  <path>" line per file, sorted by path."""
    return "".join(f"{digests[path]}  {encode_path(path)}\n" for path in sorted(digests))


def parse_manifest(text: str, filename: str, algorithm: str) -> dict[str, str]:
    """Parse a manifest into {path: digest}; BagError names `filename` on any bad line."""
    entries: dict[str, str] = {}
    if text.startswith("\ufeff"):
        raise BagError(f"{filename}: starts with a byte order mark, so it was rewritten")
    for number, line in enumerate(text.split("\n")[:-1], start=1):
        if line.endswith("\r"):
            raise BagError(
                f"{filename}: line {number} ends in a carriage return (Windows line ends), "
                "so it was rewritten"
            )
        digest, _, rest = line.partition(" ")
        path = decode_path(rest.lstrip(" \t"))
        if not _HEX[algorithm].fullmatch(digest) or not path:
            raise BagError(f"{filename}: line {number} is not '<{algorithm} digest>  <path>'")
        if path in entries:
            raise BagError(f"{filename}: {path} is listed twice")
        check_relative_path(path, filename)
        entries[path] = digest
    if not text.endswith("\n") and text:
        raise BagError(f"{filename}: does not end with a newline")
    return entries


def check_relative_path(path: str, filename: str) -> None:
    """Refuse manifest paths that could reach outside the bag."""
    parts = path.split("/")
    if path.startswith("/") or "\\" in path or any(part in ("", ".", "..") for part in parts):
        raise BagError(f"{filename}: path {path!r} is not a plain relative path inside the bag")


def format_bag_info(fields: Iterable[tuple[str, str]]) -> str:
    """Render bag-info.txt "Label: value" lines; values must be single lines."""
    lines = []
    for label, value in fields:
        if "\n" in value or "\r" in value or ":" in label:
            raise BagError(f"{BAG_INFO_TXT}: {label!r} cannot be written on one line")
        lines.append(f"{label}: {value}\n")
    return "".join(lines)


def parse_bag_info(text: str) -> list[tuple[str, str]]:
    """Parse bag-info.txt into (label, value) pairs, joining continuation lines."""
    fields: list[tuple[str, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line[:1] in (" ", "\t") and fields:
            label, value = fields[-1]
            fields[-1] = (label, value + " " + line.strip())
            continue
        label, colon, value = line.partition(":")
        if not colon or not label.strip():
            raise BagError(f"{BAG_INFO_TXT}: line {number} is not 'Label: value'")
        fields.append((label.strip(), value.strip()))
    return fields


def payload_files(bag_dir: Path) -> list[str]:
    """List every regular file under data/ as a bag-relative path with "/" separators."""
    found: list[str] = []
    payload = bag_dir / PAYLOAD_DIR
    for directory, _dirnames, filenames in os.walk(payload):
        for name in filenames:
            full = Path(directory) / name
            found.append(full.relative_to(bag_dir).as_posix())
    return sorted(found)


def write_text(path: Path, text: str) -> None:
    """Write a UTF-8 tag or payload text file with "\\n" line ends."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as out:
        out.write(text)


def write_manifests(bag_dir: Path, payload: Mapping[str, FileDigests]) -> None:
    """Write manifest-sha256.txt and manifest-sha512.txt for the payload digests given."""
    for algorithm in ALGORITHMS:
        digests = {path: value.of(algorithm) for path, value in payload.items()}
        write_text(bag_dir / manifest_name(algorithm), format_manifest(digests))


def write_tag_manifests(bag_dir: Path, tag_files: Iterable[str]) -> dict[str, str]:
    """Write both tag manifests over `tag_files`; return {tagmanifest name: its sha256 hex}."""
    names = sorted(tag_files)
    hashed = {name: hash_file(bag_dir / name) for name in names}
    digests_of_manifests: dict[str, str] = {}
    for algorithm in ALGORITHMS:
        text = format_manifest({name: hashed[name].of(algorithm) for name in names})
        write_text(bag_dir / tagmanifest_name(algorithm), text)
        digests_of_manifests[tagmanifest_name(algorithm)] = sha256_hex(text.encode("utf-8"))
    return digests_of_manifests
