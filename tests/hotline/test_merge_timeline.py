"""After a merge the timeline says, in the reader's language, which case was merged in and
which steps were first recorded on it."""

from __future__ import annotations

from importlib import import_module

import pytest
from django.apps import apps
from django.conf import settings
from django.urls import reverse

from amparo.accounts.roles import Role
from amparo.hotline.models import CaseStatus, StatusEvent
from amparo.hotline.services import merge_cases, set_status
from tests.hotline.factories import intake, person, signed_in

pytestmark = pytest.mark.django_db


def test_a_merge_marks_the_steps_it_brings_and_the_step_it_records():
    coordinator = person("coord", Role.COORDINATOR)
    keep = intake(legal_name="José Hernández").case
    absorb = intake(legal_name="Jose Hernandez", a_number="").case
    set_status(absorb, CaseStatus.LOCATED, coordinator, note="Eloy")
    merge_cases(keep, absorb, coordinator)

    steps = list(StatusEvent.objects.filter(case=keep).order_by("at", "id"))
    own, *brought, merge = steps
    assert own.from_case_id is None
    assert [(s.status, s.from_case_id) for s in brought] == [
        (CaseStatus.REPORTED, absorb.pk),
        (CaseStatus.LOCATED, absorb.pk),
    ]
    assert brought[1].note == "Eloy"  # what a person wrote stays as written
    assert (merge.merged_case_id, merge.from_case_id, merge.note) == (absorb.pk, None, "")


def test_a_step_brought_twice_keeps_the_case_it_was_first_recorded_on():
    coordinator = person("coord", Role.COORDINATOR)
    first, second, third = (intake(legal_name=n, a_number="").case for n in ("A B", "C D", "E F"))
    merge_cases(second, third, coordinator)
    merge_cases(first, second, coordinator)
    origins = {
        (s.status, s.from_case_id, s.merged_case_id) for s in StatusEvent.objects.filter(case=first)
    }
    assert origins == {
        (CaseStatus.REPORTED, None, None),
        (CaseStatus.REPORTED, second.pk, None),
        (CaseStatus.REPORTED, third.pk, None),
        (CaseStatus.REPORTED, second.pk, third.pk),  # second's own merge step
        (CaseStatus.REPORTED, None, second.pk),
    }


def test_the_case_page_says_it_in_the_readers_language():
    coordinator = person("coord", Role.COORDINATOR)
    keep = intake(legal_name="José Hernández").case
    absorb = intake(legal_name="Jose Hernandez", a_number="").case
    merge_cases(keep, absorb, coordinator)
    client = signed_in(coordinator)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"
    page = client.get(reverse("hotline:case", args=[keep.pk])).content.decode()
    assert f"caso {absorb.pk} fusionado en este" in page
    assert f"registrado primero en el caso {absorb.pk}" in page
    assert "into this one" not in page


def test_the_migration_turns_old_merge_notes_into_the_field():
    coordinator = person("coord", Role.COORDINATOR)
    keep = intake(legal_name="José Hernández").case
    absorb = intake(legal_name="Jose Hernandez", a_number="").case
    old = StatusEvent.objects.create(
        case=keep, status=keep.status, by=coordinator, note=f"merged case {absorb.pk} into this one"
    )
    written = StatusEvent.objects.create(
        case=keep, status=keep.status, by=coordinator, note="merged case files by hand"
    )
    gone = StatusEvent.objects.create(
        case=keep, status=keep.status, by=coordinator, note="merged case 999999 into this one"
    )
    migration = import_module("amparo.hotline.migrations.0008_timeline_merge_origin")
    migration.notes_to_field(apps, None)
    old.refresh_from_db()
    written.refresh_from_db()
    gone.refresh_from_db()
    assert (old.merged_case_id, old.note) == (absorb.pk, "")
    assert (written.merged_case_id, written.note) == (None, "merged case files by hand")
    assert gone.merged_case_id is None  # no such case: the note stays as it was

    migration.field_to_notes(apps, None)
    old.refresh_from_db()
    assert old.note == f"merged case {absorb.pk} into this one"
