"""Case documents carry the A-number and birth date: who opens them, and what their names keep."""

from __future__ import annotations

from importlib import import_module

import pytest
from django.db import connection
from django.urls import reverse

from amparo.accounts.roles import Role
from amparo.hotline import documents
from amparo.hotline.models import CaseDocument
from tests.hotline.factories import attorney, intake, person, signed_in
from tests.hotline.test_documents import (
    NOTICE_TO_APPEAR,
    download,
    private_evidence_store,
    upload,
)

__all__ = ["private_evidence_store"]  # the fixture, used by every test here

pytestmark = pytest.mark.django_db

NAMED = "NTA A012-345-678 born 1987-04-23.pdf"


@pytest.mark.parametrize(
    ("uploaded", "kept"),
    [
        (NAMED, "NTA … born ….pdf"),
        ("A012345678.pdf", "….pdf"),
        ("a 012 345 678_bond.jpg", "…_bond.jpg"),
        # Every separator the A-number normaliser reads, and runs of them.
        ("A012–345—678.pdf", "….pdf"),
        ("A012 - 345 - 678.pdf", "….pdf"),
        ("A012,345,678.pdf", "….pdf"),
        ("A١٢٣٬٤٥٦٬٧٨٩.pdf", "….pdf"),
        ("٠١٢٣٤٥٦٧٨.pdf", "….pdf"),
        # Dates however they are written.
        ("scan_04231987.png", "scan_….png"),
        ("4-23-87 scan.png", "… scan.png"),
        ("April 23 1987.pdf", "April ….pdf"),
        # What the paper is, the kind column says; the name keeps no number at all.
        ("i-213 page 2.pdf", "i-… page ….pdf"),
        ("notice.pdf", "notice.pdf"),
        ("Bond A.pdf", "Bond A.pdf"),
    ],
)
def test_a_name_keeps_no_a_number_or_date(uploaded, kept):
    assert documents.neutral_filename(uploaded) == kept


def test_the_case_keeps_the_name_without_the_numbers():
    case = intake().case
    volunteer = person("vera", Role.HOTLINE)
    page = upload(signed_in(volunteer), case, NAMED, NOTICE_TO_APPEAR).content.decode()
    assert "Kept safely, encrypted: NTA … born ….pdf" in page
    assert CaseDocument.objects.get().filename == "NTA … born ….pdf"
    with connection.cursor() as cursor:
        cursor.execute("SELECT filename FROM hotline_casedocument")
        stored = " ".join(row[0] for row in cursor.fetchall())
    assert "345" not in stored
    assert "1987" not in stored


def test_staff_open_what_they_added_and_the_rest_after_asking():
    case = intake().case
    vera, hana = person("vera", Role.HOTLINE), person("hana", Role.HOTLINE)
    upload(signed_in(vera), case, "nta.pdf", NOTICE_TO_APPEAR)
    document = CaseDocument.objects.get()
    assert download(signed_in(vera), case, document).status_code == 200

    as_hana = signed_in(hana)
    page = as_hana.get(reverse("hotline:case", args=[case.pk])).content.decode()
    assert "nta.pdf" in page
    link = reverse("hotline:case_document", args=[case.pk, document.pk])
    assert link not in page
    assert "you open the ones you added" in page
    assert download(as_hana, case, document).status_code == 403

    as_hana.post(reverse("hotline:case_reveal", args=[case.pk]))
    assert link in as_hana.get(reverse("hotline:case", args=[case.pk])).content.decode()
    assert download(as_hana, case, document).status_code == 200


def test_the_assigned_attorney_opens_every_document():
    case = intake().case
    upload(signed_in(person("vera", Role.HOTLINE)), case, "nta.pdf", NOTICE_TO_APPEAR)
    lawyer = attorney("ana")
    case.assigned_attorney = lawyer
    case.save()
    assert download(signed_in(lawyer), case, CaseDocument.objects.get()).status_code == 200


def test_the_migration_makes_names_already_kept_neutral():
    case = intake().case
    upload(signed_in(person("vera", Role.HOTLINE)), case, "nta.pdf", NOTICE_TO_APPEAR)
    CaseDocument.objects.update(filename=NAMED)
    migration = import_module("amparo.hotline.migrations.0007_neutral_document_filenames")
    from django.apps import apps

    migration.neutral_names(apps, None)
    assert CaseDocument.objects.get().filename == "NTA … born ….pdf"
