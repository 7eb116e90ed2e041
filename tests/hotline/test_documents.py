"""Case documents go through the evidence core; every download is a custody and audit event."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.http.response import HttpResponseBase
from django.test import Client, override_settings
from django.urls import reverse

from amparo.accounts.models import User
from amparo.accounts.roles import Role
from amparo.audit.models import AuditEvent
from amparo.custody.evidence import evidence_store, forget_opened_stores
from amparo.evidence.blobstore import IntegrityError
from amparo.evidence.custody import parse_custody_entry
from amparo.hotline import documents, referrals
from amparo.hotline.models import Case, CaseDocument
from amparo.hotline.services import merge_cases
from tests.amparo_verify import run_amparo_verify
from tests.hotline.factories import attorney, intake, offered, person, signed_in

pytestmark = pytest.mark.django_db

NOTICE_TO_APPEAR = b"%PDF-1.7\n" + bytes(range(256)) * 400 + b"\n%%EOF\n"
BOND_PHOTO = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x13\x37" * 5000


@pytest.fixture(autouse=True)
def private_evidence_store(tmp_path: Path) -> Iterator[Path]:
    directory = tmp_path / "evidence"
    forget_opened_stores()
    with override_settings(EVIDENCE_DIR=directory):
        yield directory
    forget_opened_stores()


def upload(
    client: Client, case: Case, name: str, content: bytes, kind: str = "notice_to_appear"
) -> Any:
    return client.post(
        reverse("hotline:case_document_add", args=[case.pk]),
        {"file": SimpleUploadedFile(name, content, content_type="application/pdf"), "kind": kind},
        follow=True,
    )


def download(client: Client, case: Case, document: CaseDocument) -> Any:
    return client.get(reverse("hotline:case_document", args=[case.pk, document.pk]))


def custody_events(document: CaseDocument) -> list[dict[str, Any]]:
    store = evidence_store()
    item = store.item(document.item_id)
    return [parse_custody_entry(store.log.entry(i)) for i in item.custody_entries]


def test_a_volunteer_adds_a_notice_to_appear_and_it_is_kept_encrypted_with_its_hash() -> None:
    case = intake().case
    volunteer = person("vera", Role.HOTLINE, display_name="Vera")
    page = upload(signed_in(volunteer), case, "nta.pdf", NOTICE_TO_APPEAR)

    document = CaseDocument.objects.get()
    assert document.case == case
    assert document.sha256 == hashlib.sha256(NOTICE_TO_APPEAR).hexdigest()
    assert document.size == len(NOTICE_TO_APPEAR)
    assert document.media_type == "application/pdf"
    assert document.added_by == volunteer
    text = page.content.decode()
    assert "Kept safely, encrypted: nta.pdf" in text
    for shown in ("nta.pdf", document.sha256, "Notice to appear", "Vera", "100.0\xa0KB"):
        assert shown in text, shown
    # The original is in the store only as ciphertext.
    blobs = [p for p in (evidence_store().directory / "blobs").rglob("*") if p.is_file()]
    assert blobs
    assert all(NOTICE_TO_APPEAR[9:300] not in p.read_bytes() for p in blobs)
    [ingested] = custody_events(document)
    assert ingested["event"] == "ingested"
    assert ingested["actor_id"] == f"user:{volunteer.pk}"
    assert document.receipt_index == evidence_store().item(document.item_id).custody_entries[0]
    assert AuditEvent.objects.filter(
        action="hotline.document.added", target=f"case:{case.pk}", actor=volunteer
    ).exists()


def test_every_download_streams_the_original_and_is_a_custody_and_an_audit_event() -> None:
    case = intake().case
    volunteer = person("vera", Role.HOTLINE)
    client = signed_in(volunteer)
    upload(client, case, "bond.jpg", BOND_PHOTO, kind="bond_decision")
    document = CaseDocument.objects.get()

    for _ in range(2):
        response = download(client, case, document)
        assert response.status_code == 200
        assert response["Content-Type"] == "image/jpeg"
        disposition = f'attachment; filename="case-{case.pk}-document-{document.pk}.jpg"'
        assert response["Content-Disposition"] == disposition
        assert response["Cache-Control"].count("no-store") == 1
        body = b"".join(response.streaming_content)
        assert hashlib.sha256(body).hexdigest() == document.sha256
        assert body == BOND_PHOTO

    events = custody_events(document)
    assert [e["event"] for e in events] == ["ingested", "downloaded", "downloaded"]
    assert all(e["actor_id"] == f"user:{volunteer.pk}" for e in events)
    downloads = AuditEvent.objects.filter(action="hotline.document.downloaded", actor=volunteer)
    assert downloads.count() == 2
    assert downloads.first().detail == f"document:{document.pk}"  # type: ignore[union-attr]


def test_a_stored_original_that_no_longer_matches_its_hash_fails_the_download() -> None:
    case = intake().case
    client = signed_in(person("vera", Role.HOTLINE))
    upload(client, case, "nta.pdf", NOTICE_TO_APPEAR)
    document = CaseDocument.objects.get()
    CaseDocument.objects.filter(pk=document.pk).update(sha256="0" * 64)
    document.refresh_from_db()

    response = download(client, case, document)
    with pytest.raises(IntegrityError):
        b"".join(response.streaming_content)


def test_a_file_of_another_type_is_refused_by_its_content_with_a_clear_message() -> None:
    case = intake().case
    page = upload(signed_in(person("vera", Role.HOTLINE)), case, "nta.pdf", b"MZ\x90\x00" * 50)
    text = page.content.decode()
    assert "nta.pdf is not a kind of file a case keeps" in text
    assert "PDF, JPEG, PNG, WebP, HEIC" in text
    assert not CaseDocument.objects.exists()
    assert evidence_store().items() == []


@override_settings(AMPARO_HOTLINE_DOCUMENT_MAX_BYTES=4096)
def test_a_file_over_the_limit_is_refused_and_nothing_is_kept() -> None:
    case = intake().case
    volunteer = person("vera", Role.HOTLINE)
    page = upload(signed_in(volunteer), case, "big.pdf", NOTICE_TO_APPEAR)
    assert "big.pdf is larger than the limit of 4.0\xa0KB" in page.content.decode()
    assert "up to 4.0\xa0KB" in page.content.decode()
    # A size that lies is still caught by the store's own limit while the bytes stream in.
    with pytest.raises(documents.DocumentRefused, match=r"liar\.pdf is larger"):
        documents.add_document(
            case,
            volunteer,
            io.BytesIO(NOTICE_TO_APPEAR),
            filename="liar.pdf",
            size=10,
            kind="other",
        )
    assert not CaseDocument.objects.exists()
    assert evidence_store().items() == []


def test_an_empty_file_is_refused() -> None:
    case = intake().case
    volunteer = person("vera", Role.HOTLINE)
    with pytest.raises(documents.DocumentRefused, match=r"empty\.pdf is empty"):
        documents.add_document(
            case, volunteer, io.BytesIO(b""), filename="empty.pdf", size=0, kind="other"
        )


def _case_with_document() -> tuple[Case, CaseDocument]:
    case = intake().case
    upload(signed_in(person("vera", Role.HOTLINE)), case, "nta.pdf", NOTICE_TO_APPEAR)
    return case, CaseDocument.objects.get()


def _refused(response: HttpResponseBase) -> bool:
    return response.status_code == 403


def test_an_attorney_reads_documents_only_once_the_case_details_are_theirs() -> None:
    case, document = _case_with_document()
    ana = attorney("ana", facilities="Eloy")
    stranger = attorney("zoe", languages="en")
    offer = offered(case)
    assert offer.attorney == ana
    as_ana, as_stranger = signed_in(ana), signed_in(stranger)
    offer_page = reverse("hotline:offer", args=[offer.pk])

    # Offered, but no conflict confirmed yet: nothing.
    assert _refused(download(as_ana, case, document))
    assert "nta.pdf" not in as_ana.get(offer_page).content.decode()
    # No conflict confirmed: the document is listed with the other details and can be read.
    referrals.confirm_no_conflict(offer)
    assert "nta.pdf" in as_ana.get(offer_page).content.decode()
    response = download(as_ana, case, document)
    assert response.status_code == 200
    assert hashlib.sha256(b"".join(response.streaming_content)).hexdigest() == document.sha256
    # Uploading needs the case itself, which comes with accepting.
    assert _refused(upload(as_ana, case, "mine.pdf", NOTICE_TO_APPEAR))
    referrals.accept_offer(offer)
    assert "nta.pdf" in as_ana.get(reverse("hotline:case", args=[case.pk])).content.decode()
    upload(as_ana, case, "i213.pdf", NOTICE_TO_APPEAR, kind="i_213")
    assert CaseDocument.objects.filter(case=case, added_by=ana, kind="i_213").exists()

    # Another attorney, never offered the case, reads and adds nothing.
    assert _refused(download(as_stranger, case, document))
    assert _refused(upload(as_stranger, case, "x.pdf", NOTICE_TO_APPEAR))
    refusals = AuditEvent.objects.filter(allowed=False, actor=stranger)
    assert refusals.count() == 2
    assert [e["event"] for e in custody_events(document)] == ["ingested", "downloaded"]


def test_an_attorney_who_declined_reads_no_more() -> None:
    case, document = _case_with_document()
    attorney("ana", facilities="Eloy")
    offer = offered(case)
    referrals.confirm_no_conflict(offer)
    assert download(signed_in(offer.attorney), case, document).status_code == 200
    referrals.decline_offer(offer, reason="no capacity")
    assert _refused(download(signed_in(offer.attorney), case, document))


@pytest.mark.parametrize("role", [Role.OBSERVER, Role.TRAINER])
def test_other_roles_are_refused(role: Role) -> None:
    case, document = _case_with_document()
    client = signed_in(person("someone", role))
    assert _refused(download(client, case, document))
    assert _refused(upload(client, case, "x.pdf", NOTICE_TO_APPEAR))
    assert [e["event"] for e in custody_events(document)] == ["ingested"]


def test_a_document_is_read_only_through_its_own_case() -> None:
    _case, document = _case_with_document()
    other = intake(legal_name="Otra Persona", a_number="A 099 888 777").case
    client = signed_in(person("hana", Role.HOTLINE))
    assert _refused(download(client, other, document))
    assert client.get(reverse("hotline:case_document", args=[999, document.pk])).status_code == 404


def test_documents_of_a_merged_case_stay_with_the_case_that_survives() -> None:
    first = intake().case
    second = intake(caller_name="Luis", caller_email="luis@example.org").case
    coordinator: User = person("cora", Role.COORDINATOR)
    client = signed_in(coordinator)
    upload(client, second, "bond.jpg", BOND_PHOTO, kind="bond_decision")
    document = CaseDocument.objects.get()
    merge_cases(first, second, coordinator)

    page = client.get(reverse("hotline:case", args=[first.pk])).content.decode()
    assert "bond.jpg" in page
    response = download(client, first, document)
    assert b"".join(response.streaming_content) == BOND_PHOTO


def test_a_cases_documents_export_as_a_bundle_that_verifies_offline(tmp_path: Path) -> None:
    kept = intake().case
    absorbed = intake(caller_name="Otra persona").case
    volunteer = person("vera", Role.HOTLINE)
    client = signed_in(volunteer)
    upload(client, kept, "nta.pdf", NOTICE_TO_APPEAR)
    upload(client, absorbed, "bond.jpg", BOND_PHOTO, kind="bond_decision")
    merge_cases(kept, absorbed, volunteer)
    out = tmp_path / "case-bundle"
    # The absorbed case's number still finds the case its documents moved to.
    call_command("export-bundle", "--case", str(absorbed.pk), "--out", str(out))
    checked = run_amparo_verify(out, tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.startswith("OK: 2 originals")
    originals = {p.read_bytes() for p in (out / "data").rglob("*") if p.is_file()}
    assert {NOTICE_TO_APPEAR, BOND_PHOTO} <= originals
    for document in CaseDocument.objects.all():
        assert custody_events(document)[-1]["event"] == "exported"
    assert AuditEvent.objects.filter(
        action="hotline.bundle.exported", target=f"case:{kept.pk}"
    ).exists()
    # One changed byte in a document and the bundle no longer verifies.
    some_original = next(
        p for p in (out / "data").rglob("*") if p.is_file() and p.read_bytes() == BOND_PHOTO
    )
    some_original.write_bytes(b"X" + BOND_PHOTO[1:])
    assert run_amparo_verify(out, tmp_path).returncode != 0


def test_a_case_without_documents_or_an_unknown_case_is_named(tmp_path: Path) -> None:
    case = intake().case
    with pytest.raises(CommandError, match=f"Case {case.pk} has no documents yet"):
        call_command("export-bundle", "--case", str(case.pk), "--out", str(tmp_path / "a"))
    with pytest.raises(CommandError, match="no case '999999'"):
        call_command("export-bundle", "--case", "999999", "--out", str(tmp_path / "b"))
    assert not (tmp_path / "a").exists()


def test_the_case_page_downloads_the_documents_as_a_bundle_for_those_who_may_read_them(
    tmp_path: Path,
) -> None:
    case = intake().case
    volunteer = person("vera", Role.HOTLINE)
    client = signed_in(volunteer)
    url = reverse("hotline:case_documents_bundle", args=[case.pk])
    # The bundle holds every paper, with the A-number in them: staff ask to see them first.
    assert client.post(url).status_code == 403
    client.post(reverse("hotline:case_reveal", args=[case.pk]))
    # Nothing yet: the page says so and no file is made.
    empty = client.post(url, follow=True)
    assert f"Case {case.pk} has no documents yet." in empty.content.decode()
    assert (
        "verifiable bundle"
        not in client.get(reverse("hotline:case", args=[case.pk])).content.decode()
    )

    upload(client, case, "nta.pdf", NOTICE_TO_APPEAR)
    assert (
        "verifiable bundle" in client.get(reverse("hotline:case", args=[case.pk])).content.decode()
    )
    response = client.post(url)
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="case-{case.pk}-documents.zip"'
    bundle = tmp_path / "case.zip"
    bundle.write_bytes(b"".join(response.streaming_content))  # type: ignore[attr-defined]
    checked = run_amparo_verify(bundle, tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.startswith("OK: 1 originals")
    assert AuditEvent.objects.filter(
        action="hotline.bundle.exported", target=f"case:{case.pk}", actor=volunteer
    ).exists()

    # An attorney the case is not assigned to gets nothing, and no export is logged.
    outsider = attorney("otro")
    refused = signed_in(outsider).post(url)
    assert refused.status_code == 403
    assert AuditEvent.objects.filter(action="hotline.bundle.exported").count() == 1
