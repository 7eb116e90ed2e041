"""Documents on a case: a notice to appear, a bond decision, an I-213 given to the family.

They take the family vault's path into the evidence core: recognised by their first bytes
(never their name), refused past HOTLINE_DOCUMENT_MAX_BYTES, encrypted and hashed as they
stream in, with an "ingested" custody entry. Every download is a custody event and an
audit event, and the stream checks the hash as it ends.

Such papers carry the A-number and date of birth, which are for the legal team: an attorney
opens the documents of the cases assigned to them, or offered to them once they have confirmed
no conflict. Hotline staff open a document they added themselves, and the others only after
asking to see the case's immigration details (the same audited request that shows the
A-number for a custody search). The name a file was uploaded under is kept without long
runs of digits, in which an A-number or a birth date would be written.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from django import forms
from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from amparo.accounts.models import User
from amparo.accounts.roles import Role
from amparo.audit.services import record as audit
from amparo.custody.evidence import actor_of, evidence_store, record_custody
from amparo.custody.streaming import stream_original
from amparo.evidence.custody import CustodyEvent
from amparo.hotline.models import Case, CaseDocument, CaseDocumentKind
from amparo.hotline.referrals import may_see_details
from amparo.preparedness import vault
from amparo.web.policy import Refusal

DEFAULT_MAX_BYTES = 25 * 1024 * 1024
CHUNK_SIZE = 256 * 1024
# The same scans and photos of papers the family vault keeps, recognised the same way.
ACCEPTED_TYPES = vault.ACCEPTED_TYPES


class DocumentRefused(ValueError):
    """An upload was refused; the message names the file, what was wrong and what to do."""


class CaseDocumentForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("Document"))
    kind = forms.ChoiceField(
        label=gettext_lazy("What it is"),
        choices=CaseDocumentKind.choices,
        initial=CaseDocumentKind.NOTICE_TO_APPEAR,
    )


# Every number, in digits of any script, with whatever separates its groups (spaces, dashes of
# any kind, dots, commas, slashes, Arabic separators) and an "A" before it or not: an A-number
# or a date can be written in a name in more ways than a pattern for them would catch.
_NUMBER = re.compile(r"(?:\b[Aa][\W_]*)?\d(?:[\W_]*\d)*")


def neutral_filename(name: str) -> str:
    """The uploaded file's name without its numbers, in which an A-number or a birth date
    would be written, so that the case keeps neither in plain text. What the paper is, the
    case says in its own column."""
    return _NUMBER.sub("…", name)[:200]


def document_max_bytes() -> int:
    return int(getattr(settings, "AMPARO_HOTLINE_DOCUMENT_MAX_BYTES", DEFAULT_MAX_BYTES))


def surviving_case(case: Case) -> Case:
    """The case this one was merged into, followed to the end; the case itself if not merged."""
    seen = {case.pk}
    while case.merged_into_id is not None and case.merged_into_id not in seen:
        seen.add(case.merged_into_id)
        case = Case.objects.select_related("assigned_attorney").get(pk=case.merged_into_id)
    return case


def documents_of(case: Case) -> QuerySet[CaseDocument]:
    """The documents on this case; a merge moves the absorbed case's documents here."""
    return CaseDocument.objects.filter(case=case).select_related("added_by")


def may_read(user: User, case: Case) -> bool:
    if user.role in (Role.HOTLINE, Role.COORDINATOR):
        return True
    if user.role != Role.ATTORNEY:
        return False
    if case.assigned_attorney_id == user.pk:
        return True
    return any(may_see_details(offer) for offer in case.offers.filter(attorney=user))


def add_document(
    case: Case, by: User, stream: BinaryIO, *, filename: str, size: int, kind: str
) -> CaseDocument:
    """Check, encrypt and keep one upload; DocumentRefused says why not."""
    limit = document_max_bytes()
    name = neutral_filename(filename)
    role, actor_id = actor_of(by)
    item, media_type = vault.ingest_paper(
        stream,
        filename=name,
        size=size,
        limit=limit,
        actor_role=role,
        actor_id=actor_id,
        refusal=DocumentRefused,
        too_large=_(
            "%(name)s is larger than the limit of %(limit)s. Scan it at a lower resolution."
        )
        % {"name": name, "limit": filesizeformat(limit)},
        not_kept=_(
            "%(name)s is not a kind of file a case keeps (judged by its content). "
            "Upload one of: %(types)s."
        )
        % {"name": name, "types": ACCEPTED_TYPES},
    )
    document = CaseDocument.objects.create(
        case=case,
        kind=kind if kind in CaseDocumentKind.values else CaseDocumentKind.OTHER,
        item_id=item.id,
        filename=name,
        media_type=media_type,
        size=item.size,
        sha256=item.sha256,
        receipt_index=item.custody_entries[-1],
        added_by=by,
    )
    audit(by, "hotline.document.added", target=f"case:{case.pk}", detail=f"document:{document.pk}")
    return document


def readable_case(user: User, case_id: int) -> Case:
    """The case, if this person may read its documents; Refusal otherwise."""
    case = Case.objects.select_related("assigned_attorney").filter(pk=case_id).first()
    if case is None or not may_read(user, case):
        raise Refusal(_("this case is not assigned to you"))
    return case


def may_open(user: User, document: CaseDocument, *, unlocked: bool) -> bool:
    """Whether this person opens this document of a case they may read: the legal team and
    staff who asked to see the case's immigration details (`unlocked`), or who added it."""
    return unlocked or document.added_by_id == user.pk


def open_document(
    request: HttpRequest, case: Case, document_id: int, *, unlocked: bool
) -> CaseDocument:
    """Find the document on this case, log the download (custody and audit), and return it.

    The caller streams it with `plaintext`, whose reader raises IntegrityError at the end if
    the bytes do not match the SHA-256 on file.
    """
    document = documents_of(case).filter(pk=document_id).first()
    if document is None:
        raise Refusal(_("this document is not on this case"))
    user = request.user
    assert isinstance(user, User)
    if not may_open(user, document, unlocked=unlocked):
        raise Refusal(_("documents carry immigration details: ask to see them first"))
    record_custody(
        document.item_id, CustodyEvent.DOWNLOADED, request.user, {"what": "case document"}
    )
    audit(
        request,
        "hotline.document.downloaded",
        target=f"case:{case.pk}",
        detail=f"document:{document.pk}",
    )
    return document


def download_name(document: CaseDocument) -> str:
    """A neutral name for the saved file: the case and document numbers, and the type's ending.

    The name given at upload stays out of the header; it can say more than the number does.
    """
    ending = mimetypes.guess_extension(document.media_type) or ""
    return f"case-{document.case_id}-document-{document.pk}{ending}"


def export_case(case: Case, out: Path, by: User | None = None, *, zip: bool = False) -> Path:
    """A signed bundle of the case's documents (and those of cases merged into it) at `out`,
    which `amparo-verify` checks offline; each document gets an "exported" custody entry."""
    case = surviving_case(case)
    ids = list(documents_of(case).values_list("item_id", flat=True))
    if not ids:
        raise DocumentRefused(_("Case %(number)s has no documents yet.") % {"number": case.pk})
    role, actor_id = actor_of(by)
    return evidence_store().bundle(ids, Path(out), actor_role=role, actor_id=actor_id, zip=zip)


def plaintext(document: CaseDocument) -> Iterator[bytes]:
    """The original, decrypted as it is read; opened only when the first chunk is asked for,
    so a response that is never sent leaves no file open."""
    return stream_original(document.item_id, document.sha256, CHUNK_SIZE)
