"""Evidence blobs in S3-compatible object storage, with the guarantees of DirectoryBlobStore.

Layout of an S3BlobStore in its bucket, under its prefix::

    <prefix>blobs/<id>.age       the original, age-encrypted to the store's recipients
    <prefix>meta/<id>.json.age   its size, SHA-256 and SHA-512, also age-encrypted

An ingest hashes and encrypts the upload as it streams and sends the ciphertext as a
multipart upload in parts of ``part_size`` bytes, so memory stays near one part whatever
the size and no byte, plain or encrypted, touches a local disk. The blob is acknowledged
only after CompleteMultipartUpload succeeded, a HEAD confirmed the object's size and the
metadata object was written. A blob counts once its metadata object exists. A failed
ingest aborts its multipart upload; uploads and blobs left by a process that died are
removed by ``sweep()``, which leaves anything younger than ``older_than`` alone because
another machine may still be writing it.

Recovery without Amparo: download ``blobs/<id>.age`` with any S3 client and decrypt it with
``age -d -i identity.txt``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import TYPE_CHECKING, BinaryIO, Self, cast

from botocore.exceptions import BotoCoreError, ClientError

from amparo.evidence.age import (
    AgeError,
    DecryptingReader,
    EncryptingWriter,
    check_recipient,
    decrypt_bytes,
    encrypt_bytes,
    recipient_of,
)
from amparo.evidence.blobstore import (
    BlobStoreError,
    BlobTooLargeError,
    IngestError,
    IngestResult,
    IntegrityError,
    UnknownBlobError,
    check_blob_id,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef

__all__ = ["MIN_PART_SIZE", "S3BlobStore"]

# S3 refuses parts below 5 MiB except the last one.
MIN_PART_SIZE = 5 * 1024 * 1024
_DEFAULT_PART_SIZE = 8 * 1024 * 1024
_READ_SIZE = 1024 * 1024
_BLOB_ID = re.compile(r"[0-9a-f]{32}")
_METADATA_FORMAT = "amparo-blob-metadata/1"
_S3_ERRORS = (BotoCoreError, ClientError)
_MISSING_CODES = {"404", "NoSuchKey", "NotFound"}


def _is_missing(error: ClientError) -> bool:
    return str(error.response.get("Error", {}).get("Code")) in _MISSING_CODES


class _PartUploader:
    """A write-only sink that sends what it is given as the parts of one multipart upload."""

    def __init__(
        self, client: S3Client, bucket: str, key: str, upload_id: str, part_size: int
    ) -> None:
        self._client = client
        self._bucket = bucket
        self._key = key
        self._upload_id = upload_id
        self._part_size = part_size
        self._buffer = bytearray()
        self.parts: list[CompletedPartTypeDef] = []
        self.total = 0

    def write(self, data: memoryview, /) -> int:
        self._buffer += data
        if len(self._buffer) >= self._part_size:
            self._send()
        return len(data)

    def _send(self) -> None:
        number = len(self.parts) + 1
        body = bytes(self._buffer)
        self._buffer.clear()
        response = self._client.upload_part(
            Bucket=self._bucket,
            Key=self._key,
            UploadId=self._upload_id,
            PartNumber=number,
            Body=body,
        )
        self.parts.append({"ETag": response["ETag"], "PartNumber": number})
        self.total += len(body)

    def finish(self) -> None:
        """Send what is buffered as the last part (an age file is never empty)."""
        if self._buffer or not self.parts:
            self._send()


class _VerifyingStream:
    """Decrypts a downloaded blob and re-hashes it; the read that reaches the end checks it."""

    def __init__(
        self,
        blob_id: str,
        where: str,
        body: BinaryIO,
        identities: Sequence[str],
        record: IngestResult,
        expected_sha256: str | None,
    ) -> None:
        self._blob_id = blob_id
        self._where = where
        self._record = record
        self._expected_sha256 = expected_sha256
        self._hash = hashlib.sha256()
        self._count = 0
        self._verified = False
        try:
            self._reader = DecryptingReader(
                body, identities, name=f"blob {blob_id}", close_source=True
            )
        except AgeError as error:
            body.close()
            raise IntegrityError(f"blob {blob_id} at {where}: {error}") from error
        except _S3_ERRORS as error:
            body.close()
            raise BlobStoreError(f"blob {blob_id}: reading {where} failed: {error}") from error

    def _fail(self, what: str) -> IntegrityError:
        return IntegrityError(f"blob {self._blob_id}: {what}")

    def _read_inner(self, size: int) -> bytes:
        try:
            return self._reader.read(size)
        except AgeError as error:
            raise self._fail(str(error)) from error
        except _S3_ERRORS as error:
            raise BlobStoreError(
                f"blob {self._blob_id}: reading {self._where} failed: {error}"
            ) from error

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
        """Close the download."""
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


class S3BlobStore:
    """A BlobStore in an S3 bucket; see the module docstring for the layout and guarantees.

    ``client`` is a boto3 S3 client pointed at the storage; ``prefix`` (for example
    ``"evidence/"``) lets several stores share a bucket. ``recipients`` are the ``age1…``
    keys every blob is encrypted to; ``identities`` are needed only to read blobs back.
    Unlike DirectoryBlobStore, construction does not sweep: listing a bucket on every start
    of a web process is slow, so ``sweep()`` runs from periodic housekeeping instead.
    """

    def __init__(
        self,
        bucket: str,
        client: S3Client,
        recipients: Sequence[str],
        identities: Sequence[str] = (),
        prefix: str = "",
        *,
        part_size: int = _DEFAULT_PART_SIZE,
    ) -> None:
        if isinstance(recipients, str) or isinstance(identities, str):
            raise TypeError("recipients and identities are sequences of strings")
        if not recipients:
            raise ValueError("the evidence store needs at least one age recipient")
        if not bucket:
            raise ValueError("the S3 evidence store needs a bucket name")
        if part_size < MIN_PART_SIZE:
            raise ValueError(f"part_size must be at least {MIN_PART_SIZE} bytes, as S3 requires")
        for recipient in recipients:
            check_recipient(recipient)
        for identity in identities:
            recipient_of(identity)
        self.bucket = bucket
        self.prefix = prefix
        self._client = client
        self._recipients = tuple(recipients)
        self._identities = tuple(identities)
        self._part_size = part_size

    def __repr__(self) -> str:
        return f"S3BlobStore(s3://{self.bucket}/{self.prefix})"

    # --- keys ----------------------------------------------------------------------------

    def key_of(self, blob_id: str) -> str:
        """The object key of a blob's ciphertext; ``age -d`` on its bytes recovers the original."""
        return f"{self.prefix}blobs/{check_blob_id(blob_id)}.age"

    def _metadata_key(self, blob_id: str) -> str:
        return f"{self.prefix}meta/{check_blob_id(blob_id)}.json.age"

    def _where(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    # --- ingest --------------------------------------------------------------------------

    def ingest(self, stream: BinaryIO, *, max_bytes: int | None = None) -> IngestResult:
        """Hash and encrypt everything ``stream`` yields into a multipart upload.

        Returns only after CompleteMultipartUpload succeeded, a HEAD confirmed the size and
        the metadata object was stored. Raises BlobTooLargeError past ``max_bytes`` and
        IngestError when the object store refuses; in every failure the multipart upload is
        aborted, anything completed is deleted, and nothing counts.
        """
        blob_id = secrets.token_hex(16)
        key = self.key_of(blob_id)
        try:
            upload_id = self._client.create_multipart_upload(
                Bucket=self.bucket, Key=key, ContentType="application/octet-stream"
            )["UploadId"]
        except _S3_ERRORS as error:
            raise IngestError(
                f"the object store refused a new upload to {self._where(key)}: {error}; "
                "nothing was saved; try again"
            ) from error
        completed = False
        try:
            sha256 = hashlib.sha256()
            sha512 = hashlib.sha512()
            size = 0
            parts = _PartUploader(self._client, self.bucket, key, upload_id, self._part_size)
            writer = EncryptingWriter(parts, self._recipients)
            while chunk := stream.read(_READ_SIZE):
                size += len(chunk)
                if max_bytes is not None and size > max_bytes:
                    raise BlobTooLargeError(
                        f"the file is larger than the limit of {max_bytes} bytes; nothing was saved"
                    )
                sha256.update(chunk)
                sha512.update(chunk)
                writer.write(chunk)
            writer.close()
            parts.finish()
            self._client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=key,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts.parts},
            )
            completed = True
            stored = self._client.head_object(Bucket=self.bucket, Key=key)["ContentLength"]
            if stored != parts.total:
                raise IngestError(
                    f"{self._where(key)} holds {stored} bytes after the upload but "
                    f"{parts.total} were sent; nothing was saved; try again"
                )
            result = IngestResult(blob_id, sha256.hexdigest(), sha512.hexdigest(), size)
            self._put_metadata(result)
            return result
        except BaseException as error:
            self._discard(key, upload_id, completed)
            if isinstance(error, _S3_ERRORS):
                raise IngestError(
                    f"uploading to {self._where(key)} failed: {error}; nothing was saved; try again"
                ) from error
            raise

    def _put_metadata(self, result: IngestResult) -> None:
        record = {"format": _METADATA_FORMAT, **asdict(result)}
        text = json.dumps(record, sort_keys=True).encode()
        self._client.put_object(
            Bucket=self.bucket,
            Key=self._metadata_key(result.id),
            Body=encrypt_bytes(text, self._recipients),
            ContentType="application/octet-stream",
        )

    def _discard(self, key: str, upload_id: str, completed: bool) -> None:
        # Best effort: whatever survives has no metadata, so it never counts, and sweep() ends it.
        try:
            if completed:
                self._client.delete_object(Bucket=self.bucket, Key=key)
            else:
                self._client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
        except _S3_ERRORS:
            pass

    # --- reading -------------------------------------------------------------------------

    def _require_identities(self) -> tuple[str, ...]:
        if not self._identities:
            raise BlobStoreError(
                f"the evidence store at s3://{self.bucket}/{self.prefix} was opened without an "
                "identity, so it can store blobs but not read them"
            )
        return self._identities

    def _get(self, key: str, blob_id: str) -> BinaryIO:
        try:
            response = self._client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if _is_missing(error):
                raise UnknownBlobError(
                    f"no blob {blob_id} in the evidence store at s3://{self.bucket}/{self.prefix}"
                ) from None
            raise BlobStoreError(
                f"blob {blob_id}: reading {self._where(key)} failed: {error}"
            ) from error
        except BotoCoreError as error:
            raise BlobStoreError(
                f"blob {blob_id}: reading {self._where(key)} failed: {error}"
            ) from error
        return cast("BinaryIO", response["Body"])

    def metadata(self, blob_id: str) -> IngestResult:
        """Return the size and hashes recorded when the blob was ingested."""
        key = self._metadata_key(blob_id)
        body = self._get(key, blob_id)
        try:
            sealed = body.read()
        except _S3_ERRORS as error:
            raise BlobStoreError(
                f"blob {blob_id}: reading {self._where(key)} failed: {error}"
            ) from error
        finally:
            body.close()
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
                f"blob {blob_id}: metadata record {self._where(key)} is unreadable: {error}"
            ) from error
        if record.get("format") != _METADATA_FORMAT or result.id != blob_id:
            raise IntegrityError(
                f"blob {blob_id}: metadata record {self._where(key)} names another blob"
            )
        return result

    def open(self, blob_id: str, expected_sha256: str | None = None) -> _VerifyingStream:
        """Stream the original of ``blob_id`` from the bucket.

        The bytes are decrypted and re-hashed as they arrive; the read that reaches the end
        raises IntegrityError if the size or SHA-256 differ from the record or
        ``expected_sha256``. Read to the end before trusting what was read.
        """
        record = self.metadata(blob_id)
        identities = self._require_identities()
        key = self.key_of(blob_id)
        return _VerifyingStream(
            blob_id, self._where(key), self._get(key, blob_id), identities, record, expected_sha256
        )

    def fixity(self, blob_id: str) -> None:
        """Download, decrypt and re-hash the blob; raise IntegrityError on any mismatch."""
        with self.open(blob_id) as reader:
            while reader.read(_READ_SIZE):
                pass

    def _keys(self, under: str) -> Iterator[tuple[str, datetime]]:
        paginator = self._client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + under):
            for entry in page.get("Contents", []):
                yield entry["Key"], entry["LastModified"]

    def ids(self) -> Iterator[str]:
        """Yield the id of every complete blob (one whose metadata object exists), sorted."""
        suffix = ".json.age"
        found = []
        for key, _modified in self._keys("meta/"):
            name = key.removeprefix(self.prefix + "meta/")
            blob_id = name.removesuffix(suffix)
            if name.endswith(suffix) and _BLOB_ID.fullmatch(blob_id):
                found.append(blob_id)
        yield from sorted(found)

    # --- cleaning up ---------------------------------------------------------------------

    def sweep(self, older_than: timedelta = timedelta(hours=24)) -> int:
        """Abort stale multipart uploads and delete stale blobs that have no metadata.

        Only what started more than ``older_than`` ago is touched, since an upload from
        another process or machine may still be under way. Returns how many went.
        """
        cutoff = datetime.now(UTC) - older_than
        removed = 0
        paginator = self._client.get_paginator("list_multipart_uploads")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + "blobs/"):
            for upload in page.get("Uploads", []):
                if upload["Initiated"] <= cutoff:
                    self._client.abort_multipart_upload(
                        Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                    )
                    removed += 1
        recorded = set(self.ids())
        for key, modified in list(self._keys("blobs/")):
            blob_id = key.removeprefix(self.prefix + "blobs/").removesuffix(".age")
            if not _BLOB_ID.fullmatch(blob_id) or blob_id in recorded or modified > cutoff:
                continue
            # The ingest may have finished since ids() was listed.
            try:
                self._client.head_object(Bucket=self.bucket, Key=self._metadata_key(blob_id))
                continue
            except ClientError as error:
                if not _is_missing(error):
                    raise
            self._client.delete_object(Bucket=self.bucket, Key=key)
            removed += 1
        return removed
