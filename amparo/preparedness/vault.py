"""The family's document vault: originals go into the evidence store, never altered.

Each upload is recognised by its first bytes (never its name), refused past
VAULT_MAX_BYTES, then encrypted and hashed by the evidence core as it streams in.
Every download is a custody event in the evidence log and an audit event.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from django.conf import settings
from django.utils.translation import gettext as _

from amparo.audit.services import record
from amparo.custody.evidence import evidence_store
from amparo.custody.streaming import stream_original
from amparo.evidence.blobstore import BlobTooLargeError
from amparo.evidence.custody import CustodyEvent
from amparo.evidence.store import Item
from amparo.preparedness.models import DocumentKind, Plan, VaultDocument
from amparo.preparedness.services import plan_target

HEAD_SIZE = 16
CHUNK_SIZE = 64 * 1024
DEFAULT_MAX_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class DocumentType:
    media_type: str
    extension: str


ACCEPTED_TYPES = "PDF, JPEG, PNG, WebP, HEIC"


class VaultRefusal(Exception):
    """An upload was refused; the message says why and what to do."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def vault_max_bytes() -> int:
    return int(getattr(settings, "AMPARO_VAULT_MAX_BYTES", DEFAULT_MAX_BYTES))


def detect_document_type(head: bytes) -> DocumentType | None:
    """A scan or photo of a document, judged by its first bytes; None if not accepted."""
    if head.startswith(b"%PDF-"):
        return DocumentType("application/pdf", "pdf")
    if head.startswith(b"\xff\xd8\xff"):
        return DocumentType("image/jpeg", "jpg")
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return DocumentType("image/png", "png")
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return DocumentType("image/webp", "webp")
    if head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"mif1", b"msf1"):
        return DocumentType("image/heic", "heic")
    return None


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.0f}"


def ingest_paper(
    stream: BinaryIO,
    *,
    filename: str,
    size: int,
    limit: int,
    actor_role: str,
    actor_id: str,
    refusal: type[Exception],
    too_large: str,
    not_kept: str,
) -> tuple[Item, str]:
    """The checks before keeping a scan or photo of a paper, for the vault and for hotline
    case documents alike: not over `limit` (as declared, then as the bytes stream in), not
    empty, a kind recognised by its first bytes; then encrypted into the evidence store with
    an "ingested" custody entry. Returns the item and its media type, or raises `refusal`
    with `too_large`, `not_kept` or an "empty" message a person reads."""
    if size > limit:
        raise refusal(too_large)
    if size <= 0:
        raise refusal(_("%(name)s is empty. Choose the file again.") % {"name": filename})
    found = detect_document_type(stream.read(HEAD_SIZE))
    stream.seek(0)
    if found is None:
        raise refusal(not_kept)
    try:
        item = evidence_store().ingest(
            stream,
            filename=filename[:200],
            media_type=found.media_type,
            actor_role=actor_role,
            actor_id=actor_id,
            max_bytes=limit,
        )
    except BlobTooLargeError:
        raise refusal(too_large) from None
    return item, found.media_type


def store_document(
    plan: Plan, stream: BinaryIO, *, filename: str, size: int, kind: str = ""
) -> VaultDocument:
    """Check, encrypt and keep one upload; raise VaultRefusal with a reason a person reads."""
    limit = vault_max_bytes()
    if kind and kind not in DocumentKind.values:
        kind = ""
    item, media_type = ingest_paper(
        stream,
        filename=filename,
        size=size,
        limit=limit,
        actor_role="family",
        actor_id=f"family:{plan.account_id}",
        refusal=VaultRefusal,
        too_large=_(
            "%(name)s is larger than %(limit)s MB. Scan it at a lower resolution and try again."
        )
        % {"name": filename, "limit": _megabytes(limit)},
        not_kept=_("%(name)s is not a type the vault keeps. Upload one of: %(types)s.")
        % {"name": filename, "types": ACCEPTED_TYPES},
    )
    document = VaultDocument.objects.create(
        plan=plan,
        item_id=item.id,
        kind=kind,
        filename=filename[:200],
        media_type=media_type,
        size=item.size,
        sha256=item.sha256,
    )
    record(None, "family.vault_uploaded", target=plan_target(plan), detail=f"item:{item.id}")
    return document


def read_document(document: VaultDocument, *, actor_role: str, actor_id: str) -> Iterator[bytes]:
    """Log the download in custody and audit, then stream the decrypted original.

    The evidence core checks the hashes as the stream ends and raises if they differ; the
    blob is opened only when the first chunk is read.
    """
    store = evidence_store()
    store.record(document.item_id, CustodyEvent.DOWNLOADED, actor_role, actor_id)
    record(
        None,
        "family.vault_downloaded",
        target=plan_target(document.plan),
        detail=f"item:{document.item_id} by {actor_id}",
    )
    return stream_original(document.item_id, document.sha256, CHUNK_SIZE)
