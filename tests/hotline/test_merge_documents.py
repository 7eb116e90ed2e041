"""A merge keeps both histories, documents included: they move to the case that survives.

Like notes, searches and status history, a merged case's documents are re-pointed to the
surviving case by merge_cases; reading one is then a question about that case only, and a
link or page from before the merge leads there.
"""

from __future__ import annotations

import hashlib
import io
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from amparo.accounts.roles import Role
from amparo.audit.models import AuditEvent
from amparo.custody.evidence import evidence_store
from amparo.evidence.custody import parse_custody_entry
from amparo.hotline import documents
from amparo.hotline.models import Case, CaseDocument, Note
from amparo.hotline.services import merge_cases
from tests.hotline.factories import attorney, intake, person, signed_in
from tests.hotline.test_documents import BOND_PHOTO, NOTICE_TO_APPEAR, private_evidence_store

pytestmark = pytest.mark.django_db
__all__ = ["private_evidence_store"]  # the autouse fixture: a store of each test's own


def _add(case: Case, name: str, content: bytes) -> CaseDocument:
    volunteer = person(f"v{CaseDocument.objects.count()}", Role.HOTLINE)
    return documents.add_document(
        case, volunteer, io.BytesIO(content), filename=name, size=len(content), kind="other"
    )


def _file(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


def _two_cases() -> tuple[Case, Case]:
    first = intake().case
    second = intake(
        legal_name="Otra Persona", a_number="A 099 888 777", caller_email="luis@example.org"
    ).case
    return first, second


def _events(document: CaseDocument) -> list[str]:
    store = evidence_store()
    entries = store.item(document.item_id).custody_entries
    return [str(parse_custody_entry(store.log.entry(i))["event"]) for i in entries]


def _download(client: Any, case: Case, document: CaseDocument) -> Any:
    return client.get(reverse("hotline:case_document", args=[case.pk, document.pk]))


def test_a_merge_moves_the_documents_of_both_cases_to_the_surviving_case() -> None:
    keep, absorb = _two_cases()
    kept = _add(keep, "nta.pdf", NOTICE_TO_APPEAR)
    moved = _add(absorb, "bond.jpg", BOND_PHOTO)
    coordinator = person("cora", Role.COORDINATOR)
    Note.objects.create(case=absorb, author=coordinator, body="called the facility")

    merge_cases(keep, absorb, coordinator)

    moved.refresh_from_db()
    assert moved.case_id == keep.pk
    # The same as the notes: both histories on the case that survives, none left behind.
    assert Note.objects.get().case_id == keep.pk
    assert set(documents.documents_of(keep)) == {kept, moved}
    assert not documents.documents_of(absorb).exists()
    # The document itself is untouched: same original, same hash, same custody record.
    assert moved.sha256 == hashlib.sha256(BOND_PHOTO).hexdigest()
    assert _events(moved) == ["ingested"]

    client = signed_in(coordinator)
    page = client.get(reverse("hotline:case", args=[keep.pk])).content.decode()
    assert "nta.pdf" in page
    assert "bond.jpg" in page
    # Papers carry the A-number: a coordinator who did not add one asks to see them first.
    assert _download(client, keep, moved).status_code == 403
    client.post(reverse("hotline:case_reveal", args=[keep.pk]))
    response = _download(client, keep, moved)
    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        f'attachment; filename="case-{keep.pk}-document-{moved.pk}.jpg"'
    )
    assert b"".join(response.streaming_content) == BOND_PHOTO
    assert _events(moved) == ["ingested", "downloaded"]
    audited = AuditEvent.objects.get(action="hotline.document.downloaded")
    assert (audited.target, audited.detail) == (f"case:{keep.pk}", f"document:{moved.pk}")


def test_merges_in_a_chain_bring_every_document_to_the_last_case() -> None:
    first, second = _two_cases()
    third = intake(legal_name="Tercera Persona", a_number="A 011 222 333").case
    one, two = _add(first, "nta.pdf", NOTICE_TO_APPEAR), _add(second, "bond.jpg", BOND_PHOTO)
    coordinator = person("cora", Role.COORDINATOR)
    merge_cases(second, first, coordinator)
    merge_cases(third, second, coordinator)
    assert set(documents.documents_of(third)) == {one, two}
    assert documents.surviving_case(first) == third
    assert not CaseDocument.objects.exclude(case=third).exists()


def test_a_link_from_before_the_merge_leads_to_the_surviving_case_and_is_logged_there() -> None:
    keep, absorb = _two_cases()
    moved = _add(absorb, "bond.jpg", BOND_PHOTO)
    coordinator = person("cora", Role.COORDINATOR)
    merge_cases(keep, absorb, coordinator)
    client = signed_in(coordinator)
    client.post(reverse("hotline:case_reveal", args=[keep.pk]))

    old_link = _download(client, absorb, moved)
    assert old_link.status_code == 302
    assert old_link["Location"] == reverse("hotline:case_document", args=[keep.pk, moved.pk])
    # The redirect alone is no download: nothing logged until the surviving case serves it.
    assert _events(moved) == ["ingested"]
    assert not AuditEvent.objects.filter(action="hotline.document.downloaded").exists()

    followed: Any = client.get(old_link["Location"])
    assert b"".join(followed.streaming_content) == BOND_PHOTO
    assert _events(moved) == ["ingested", "downloaded"]
    assert AuditEvent.objects.get(action="hotline.document.downloaded").target == f"case:{keep.pk}"


def test_who_may_read_a_moved_document_is_decided_by_the_surviving_case() -> None:
    keep, absorb = _two_cases()
    ana, zoe = attorney("ana"), attorney("zoe")
    Case.objects.filter(pk=keep.pk).update(assigned_attorney=ana)
    Case.objects.filter(pk=absorb.pk).update(assigned_attorney=zoe)
    keep.refresh_from_db()
    absorb.refresh_from_db()
    moved = _add(absorb, "bond.jpg", BOND_PHOTO)
    merge_cases(keep, absorb, person("cora", Role.COORDINATOR))

    as_ana = signed_in(ana)
    assert b"".join(_download(as_ana, keep, moved).streaming_content) == BOND_PHOTO
    # Zoe had the absorbed case; the case that survives is Ana's, so Zoe is refused there,
    # and the refusal is audited.
    as_zoe = signed_in(zoe)
    response = as_zoe.get(reverse("hotline:case_document", args=[absorb.pk, moved.pk]), follow=True)
    assert response.redirect_chain == [
        (reverse("hotline:case_document", args=[keep.pk, moved.pk]), 302)
    ]
    assert response.status_code == 403
    assert AuditEvent.objects.filter(actor=zoe, allowed=False).exists()
    assert _events(moved) == ["ingested", "downloaded"]


def test_a_document_added_from_a_page_of_the_merged_case_goes_to_the_surviving_case() -> None:
    keep, absorb = _two_cases()
    coordinator = person("cora", Role.COORDINATOR)
    merge_cases(keep, absorb, coordinator)
    response = signed_in(coordinator).post(
        reverse("hotline:case_document_add", args=[absorb.pk]),
        {"file": _file("nta.pdf", NOTICE_TO_APPEAR), "kind": "notice_to_appear"},
    )
    assert response.status_code == 302
    assert CaseDocument.objects.get().case_id == keep.pk
