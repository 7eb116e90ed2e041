"""The encrypted evidence blob store: originals are hashed and age-encrypted as they stream in.

Layout of a DirectoryBlobStore under its root::

    blobs/<id>.age       the original, age-encrypted to the store's recipients, never rewritten
    meta/<id>.json.age   its size, SHA-256 and SHA-512, also age-encrypted
    tmp/                 partial files of ingests in progress

An ingest writes to ``tmp/``, fsyncs, renames into ``blobs/``, fsyncs the directory, then
writes the metadata record the same way; only then does it return. A blob counts once its
metadata record exists. Each partial file is held under an exclusive ``flock`` by the
process writing it, so ``sweep()`` (run at start-up) removes exactly what interrupted
ingests left behind, even while other processes are ingesting into the same store.

Recovery without Amparo: every file decrypts with the ``age`` tool and the network's
identity file, e.g. ``age -d -i identity.txt blobs/<id>.age > original``.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import hmac
import json
import os
import queue
import re
import secrets
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Protocol, Self

from amparo.evidence.age import (
    AgeError,
    DecryptingReader,
    EncryptingWriter,
    check_recipient,
    decrypt_bytes,
    encrypt_bytes,
    recipient_of,
)

__all__ = [
    "BlobReader",
    "BlobStore",
    "BlobStoreError",
    "BlobTooLargeError",
    "DirectoryBlobStore",
    "IngestError",
    "IngestResult",
    "IntegrityError",
    "InvalidBlobIdError",
    "StorageFullError",
    "UnknownBlobError",
]

_READ_SIZE = 1024 * 1024
# Bounded queues keep memory flat: at most this many 1 MiB pieces wait per worker.
_QUEUE_DEPTH = 4
_BLOB_ID = re.compile(r"[0-9a-f]{32}")
_METADATA_FORMAT = "amparo-blob-metadata/1"
_PARTIAL_SUFFIX = ".partial"
_STORAGE_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}


@dataclass(frozen=True)
class IngestResult:
    """What the store acknowledges for a stored original: its id, hashes and size."""

    id: str
    sha256: str
    sha512: str
    size: int


class BlobStoreError(Exception):
    """Base class of the blob store's errors."""


class IngestError(BlobStoreError):
    """An original was not stored; the message says why and what to do. Nothing was kept."""


class StorageFullError(IngestError):
    """The store's disk is full; nothing was kept."""

    def __init__(self) -> None:
        super().__init__(
            "the evidence store is out of disk space; nothing was saved; free space and try again"
        )


class BlobTooLargeError(IngestError):
    """The upload was larger than the limit given to ingest; nothing was kept."""


class IntegrityError(BlobStoreError):
    """A stored blob does not match its record: it was altered, truncated or replaced."""


class InvalidBlobIdError(BlobStoreError, ValueError):
    """A blob id is not 32 lowercase hexadecimal characters."""


class UnknownBlobError(BlobStoreError, LookupError):
    """No blob with this id is in the store."""


class BlobReader(Protocol):
    """A stream of a stored original that checks its hashes when it reaches the end."""

    def read(self, size: int = -1, /) -> bytes: ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...


class BlobStore(Protocol):
    """Where evidence originals live; a directory today, S3-compatible storage later."""

    def ingest(self, stream: BinaryIO, *, max_bytes: int | None = None) -> IngestResult:
        """Store everything ``stream`` yields; return only once it is durable."""
        ...

    def open(self, blob_id: str, expected_sha256: str | None = None) -> BlobReader:
        """Stream a stored original, raising IntegrityError at the end if it does not match."""
        ...

    def ids(self) -> Iterator[str]:
        """Yield the id of every complete blob."""
        ...

    def metadata(self, blob_id: str) -> IngestResult:
        """Return the recorded size and hashes of a blob."""
        ...

    def fixity(self, blob_id: str) -> None:
        """Decrypt and re-hash a blob; raise IntegrityError if it does not match its record."""
        ...

    def sweep(self) -> int:
        """Remove what interrupted ingests left behind; return how many files went."""
        ...


def check_blob_id(blob_id: str) -> str:
    """Return ``blob_id`` if it is 32 lowercase hex characters, else raise InvalidBlobIdError."""
    if not isinstance(blob_id, str) or not _BLOB_ID.fullmatch(blob_id):
        raise InvalidBlobIdError(
            f"{blob_id!r} is not a blob id: expected 32 lowercase hexadecimal characters"
        )
    return blob_id


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _is_storage_full(error: BaseException) -> bool:
    return isinstance(error, OSError) and error.errno in _STORAGE_FULL_ERRNOS


def _unlink_quietly(path: Path) -> None:
    path.unlink(missing_ok=True)


class _Worker:
    """One thread fed through a bounded queue; hashlib and the AEAD release the GIL."""

    def __init__(self, name: str, consume: Callable[[bytes], object]) -> None:
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=_QUEUE_DEPTH)
        self._consume = consume
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            if self.error is None:
                try:
                    self._consume(item)
                except BaseException as error:  # handed to the ingesting thread by finish()
                    self.error = error

    def put(self, item: bytes) -> None:
        self._queue.put(item)

    def finish(self) -> None:
        """Wait for the queue to drain; re-raise what the worker hit, if anything."""
        self._queue.put(None)
        self._thread.join()
        if self.error is not None:
            raise self.error


class _LockedTempFile:
    """A new file in ``tmp/`` held under an exclusive flock for as long as it is open."""

    def __init__(self, directory: Path, name: str) -> None:
        while True:
            self.path = directory / name
            self.file = open(self.path, "xb")  # noqa: SIM115 -- closed by close()
            fcntl.flock(self.file.fileno(), fcntl.LOCK_EX)
            # A sweep may have unlinked the file between create and lock; start again if so.
            try:
                if os.stat(self.path).st_ino == os.fstat(self.file.fileno()).st_ino:
                    return
            except FileNotFoundError:
                pass
            self.file.close()

    def commit(self, final: Path) -> None:
        """fsync, make read-only, rename to ``final`` and fsync its directory."""
        self.file.flush()
        os.fsync(self.file.fileno())
        os.fchmod(self.file.fileno(), 0o400)
        os.rename(self.path, final)
        self.path = final
        _fsync_directory(final.parent)

    def close(self) -> None:
        self.file.close()


class _VerifyingReader:
    """Decrypts a blob and re-hashes it; the read that reaches the end checks the hashes."""

    def __init__(
        self,
        blob_id: str,
        path: Path,
        identities: Sequence[str],
        record: IngestResult,
        expected_sha256: str | None,
    ) -> None:
        self._blob_id = blob_id
        self._record = record
        self._expected_sha256 = expected_sha256
        self._hash = hashlib.sha256()
        self._count = 0
        self._verified = False
        source = open(path, "rb")  # noqa: SIM115 -- closed with the reader
        try:
            self._reader = DecryptingReader(
                source, identities, name=f"blob {blob_id}", close_source=True
            )
        except AgeError as error:
            source.close()
            raise IntegrityError(f"blob {blob_id}: {error}") from error

    def _fail(self, what: str) -> IntegrityError:
        return IntegrityError(f"blob {self._blob_id}: {what}")

    def _read_inner(self, size: int) -> bytes:
        try:
            return self._reader.read(size)
        except AgeError as error:
            raise self._fail(str(error)) from error

    def _verify_end(self) -> None:
        if self._read_inner(1):
            raise self._fail(f"holds more than the {self._record.size} bytes recorded")
        if self._count != self._record.size:
            raise self._fail(f"holds {self._count} bytes but {self._record.size} were recorded")
        actual = self._hash.hexdigest()
        if not hmac.compare_digest(actual, self._record.sha256):
            raise self._fail(f"SHA-256 {actual} does not match the recorded {self._record.sha256}")
        if self._expected_sha256 is not None and not hmac.compare_digest(
            actual, self._expected_sha256.lower()
        ):
            raise self._fail(
                f"SHA-256 {actual} does not match the expected {self._expected_sha256}"
            )
        self._verified = True

    def read(self, size: int = -1, /) -> bytes:
        """Return up to ``size`` bytes; IntegrityError instead of the last ones on a mismatch."""
        if self._verified or size == 0:
            return b""
        data = self._read_inner(size)
        self._hash.update(data)
        self._count += len(data)
        if self._count > self._record.size:
            raise self._fail(f"holds more than the {self._record.size} bytes recorded")
        if self._count == self._record.size or not data or size < 0:
            self._verify_end()
        return data

    def close(self) -> None:
        """Close the underlying file."""
        self._reader.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class DirectoryBlobStore:
    """A BlobStore in a local directory; see the module docstring for the layout.

    ``recipients`` are the ``age1…`` keys every blob is encrypted to; ``identities`` are
    needed only to read blobs back (open, metadata, fixity). Construction creates the
    directories and sweeps partial files left by interrupted ingests ("swept at start-up").
    """

    def __init__(
        self, root: Path, recipients: Sequence[str], identities: Sequence[str] = ()
    ) -> None:
        if isinstance(recipients, str) or isinstance(identities, str):
            raise TypeError("recipients and identities are sequences of strings")
        if not recipients:
            raise ValueError("the evidence store needs at least one age recipient")
        for recipient in recipients:
            check_recipient(recipient)
        for identity in identities:
            recipient_of(identity)
        self.root = Path(root)
        self._recipients = tuple(recipients)
        self._identities = tuple(identities)
        self._blobs = self.root / "blobs"
        self._meta = self.root / "meta"
        self._tmp = self.root / "tmp"
        # Blobs whose metadata never arrived are moved here, never deleted: an unacknowledged
        # ingest cut short, or a metadata file lost by accident; an operator decides.
        self._quarantine = self.root / "quarantine"
        for directory in (self.root, self._blobs, self._meta, self._tmp):
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        _fsync_directory(self.root)
        self.sweep()

    # --- paths ---------------------------------------------------------------------------

    def path_of(self, blob_id: str) -> Path:
        """The encrypted file of a blob; ``age -d -i identity.txt PATH`` recovers the original."""
        path = self._blobs / f"{check_blob_id(blob_id)}.age"
        if not (self._meta / f"{blob_id}.json.age").exists() or not path.exists():
            raise UnknownBlobError(f"no blob {blob_id} in the evidence store at {self.root}")
        return path

    def _metadata_path(self, blob_id: str) -> Path:
        return self._meta / f"{blob_id}.json.age"

    # --- ingest --------------------------------------------------------------------------

    def ingest(self, stream: BinaryIO, *, max_bytes: int | None = None) -> IngestResult:
        """Hash and encrypt everything ``stream`` yields into the store.

        Returns only after the blob and its metadata record are fsynced and renamed into
        place. Raises BlobTooLargeError past ``max_bytes``, StorageFullError when the disk
        fills; in every failure the partial files are removed and nothing counts.
        """
        blob_id = secrets.token_hex(16)
        try:
            partial = _LockedTempFile(self._tmp, f"{blob_id}.age{_PARTIAL_SUFFIX}")
        except OSError as error:
            if _is_storage_full(error):
                raise StorageFullError() from error
            raise
        committed_blob: Path | None = None
        try:
            sha256 = hashlib.sha256()
            sha512 = hashlib.sha512()
            size = 0
            writer = EncryptingWriter(partial.file, self._recipients)
            hashing = _Worker("ingest-sha512", sha512.update)
            encrypting = _Worker("ingest-encrypt", writer.write)
            try:
                while chunk := stream.read(_READ_SIZE):
                    # Workers hold on to the piece, so it must be immutable.
                    piece = chunk if isinstance(chunk, bytes) else bytes(chunk)
                    size += len(piece)
                    if max_bytes is not None and size > max_bytes:
                        raise BlobTooLargeError(
                            f"the file is larger than the limit of {max_bytes} bytes; "
                            "nothing was saved"
                        )
                    hashing.put(piece)
                    encrypting.put(piece)
                    sha256.update(piece)
                    if hashing.error is not None or encrypting.error is not None:
                        break
            finally:
                # Drain both workers even on failure so neither thread is left behind.
                errors: list[BaseException] = []
                for worker in (hashing, encrypting):
                    try:
                        worker.finish()
                    except BaseException as error:
                        errors.append(error)
            if errors:
                raise errors[0]
            writer.close()
            committed_blob = self._blobs / f"{blob_id}.age"
            partial.commit(committed_blob)
            result = IngestResult(blob_id, sha256.hexdigest(), sha512.hexdigest(), size)
            self._write_metadata(result)
            return result
        except BaseException as error:
            _unlink_quietly(partial.path)
            if committed_blob is not None:
                _unlink_quietly(committed_blob)
            if _is_storage_full(error):
                raise StorageFullError() from error
            raise
        finally:
            partial.close()

    def _write_metadata(self, result: IngestResult) -> None:
        record = {"format": _METADATA_FORMAT, **asdict(result)}
        text = json.dumps(record, sort_keys=True).encode()
        temp = _LockedTempFile(self._tmp, f"{result.id}.json.age{_PARTIAL_SUFFIX}")
        try:
            temp.file.write(encrypt_bytes(text, self._recipients))
            temp.commit(self._metadata_path(result.id))
        except BaseException:
            _unlink_quietly(temp.path)
            raise
        finally:
            temp.close()

    # --- reading -------------------------------------------------------------------------

    def _require_identities(self) -> tuple[str, ...]:
        if not self._identities:
            raise BlobStoreError(
                f"the evidence store at {self.root} was opened without an identity, "
                "so it can store blobs but not read them"
            )
        return self._identities

    def metadata(self, blob_id: str) -> IngestResult:
        """Return the size and hashes recorded when the blob was ingested."""
        path = self._metadata_path(check_blob_id(blob_id))
        try:
            sealed = path.read_bytes()
        except FileNotFoundError:
            raise UnknownBlobError(
                f"no blob {blob_id} in the evidence store at {self.root}"
            ) from None
        try:
            record = json.loads(decrypt_bytes(sealed, self._require_identities()))
            result = IngestResult(
                id=record["id"],
                sha256=record["sha256"],
                sha512=record["sha512"],
                size=record["size"],
            )
        except (AgeError, ValueError, KeyError, TypeError) as error:
            raise IntegrityError(
                f"blob {blob_id}: metadata record {path.name} is unreadable: {error}"
            ) from error
        if record.get("format") != _METADATA_FORMAT or result.id != blob_id:
            raise IntegrityError(f"blob {blob_id}: metadata record {path.name} names another blob")
        return result

    def open(self, blob_id: str, expected_sha256: str | None = None) -> BlobReader:
        """Stream the original of ``blob_id``.

        The bytes are re-hashed as they are read; the read that reaches the end raises
        IntegrityError if the size or SHA-256 differ from the record or ``expected_sha256``.
        Read to the end before trusting what was read.
        """
        record = self.metadata(blob_id)
        return _VerifyingReader(
            blob_id, self.path_of(blob_id), self._require_identities(), record, expected_sha256
        )

    def fixity(self, blob_id: str) -> None:
        """Decrypt and re-hash the blob; raise IntegrityError if it does not match its record."""
        with self.open(blob_id) as reader:
            while reader.read(_READ_SIZE):
                pass

    def ids(self) -> Iterator[str]:
        """Yield the id of every complete blob (one whose metadata record exists), sorted."""
        suffix = ".json.age"
        for path in sorted(self._meta.iterdir()):
            blob_id = path.name.removesuffix(suffix)
            if path.name.endswith(suffix) and _BLOB_ID.fullmatch(blob_id):
                yield blob_id

    # --- cleaning up ---------------------------------------------------------------------

    def sweep(self) -> int:
        """Remove partial files, and set aside blobs without metadata, that no ingest holds.

        A file whose flock is held belongs to an ingest still running, in this process or
        another, and is left alone. Partial files never counted and are deleted; an encrypted
        blob without its metadata record is moved to ``quarantine/`` rather than deleted, so
        that a lost metadata file can never cost an original. Returns how many files went.
        """
        removed = 0
        for path in list(self._tmp.iterdir()):
            if path.name.endswith(_PARTIAL_SUFFIX) and self._remove_if_abandoned(path):
                removed += 1
        for path in list(self._blobs.iterdir()):
            blob_id = path.name.removesuffix(".age")
            if (
                _BLOB_ID.fullmatch(blob_id)
                and not self._metadata_path(blob_id).exists()
                and self._remove_if_abandoned(
                    path, unless=self._metadata_path(blob_id), move_to=self._quarantine
                )
            ):
                removed += 1
        return removed

    @staticmethod
    def _remove_if_abandoned(
        path: Path, unless: Path | None = None, move_to: Path | None = None
    ) -> bool:
        try:
            descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except FileNotFoundError:
            return False
        try:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            # The ingest may have finished between our look and the lock.
            if unless is not None and unless.exists():
                return False
            if move_to is None:
                _unlink_quietly(path)
            else:
                move_to.mkdir(mode=0o700, exist_ok=True)
                os.replace(path, move_to / path.name)
                _fsync_directory(move_to)
            _fsync_directory(path.parent)
            return True
        finally:
            os.close(descriptor)
