from datetime import date

import pytest
from django.core.exceptions import ValidationError

from amparo.accounts.roles import Role
from amparo.hotline import services
from amparo.hotline.models import (
    Case,
    CaseStatus,
    DuplicateFlag,
    DuplicateReason,
    Intake,
    IntakeChannel,
    SearchResult,
    StatusEvent,
)
from tests.hotline.factories import A_NUMBER_DIGITS, BIRTH_DATE, answers, intake, person

pytestmark = pytest.mark.django_db


def test_intake_opens_a_reported_case_with_every_answer_kept():
    outcome = services.record_intake(
        answers(children="2, ages 4 and 9", medication="insulin", needs_consulate=True),
        IntakeChannel.CALL,
        taken_by=person("vol", Role.HOTLINE),
    )
    case = Case.objects.get(pk=outcome.case.pk)
    assert case.status == CaseStatus.REPORTED
    assert case.a_number() == A_NUMBER_DIGITS
    stored = Intake.objects.get(case=case)
    assert (stored.children, stored.medication, stored.needs_consulate) == (
        "2, ages 4 and 9",
        "insulin",
        True,
    )
    assert [event.status for event in services.timeline(case)] == [CaseStatus.REPORTED]
    assert outcome.duplicates == []


def test_an_invalid_a_number_opens_no_case():
    with pytest.raises(ValidationError):
        intake(a_number="12-34")
    assert Case.objects.count() == 0


def test_search_by_a_number_goes_through_the_blind_index():
    first = intake().case
    intake(a_number="987654321", legal_name="Otra Persona", date_of_birth=None)
    assert list(services.find_cases_by_a_number("a12345678")) == [first]
    assert list(services.find_cases_by_a_number("A-012-345-679")) == []


def test_same_a_number_written_with_dashes_is_flagged():
    first = intake().case
    second = intake(a_number="A012-345-678", legal_name="Someone Else Entirely", date_of_birth=None)
    assert [(f.other, f.reason) for f in second.duplicates] == [(first, DuplicateReason.A_NUMBER)]


@pytest.mark.parametrize(
    "spelling",
    ["Jose Luis Hernandez Ramirez", "JOSÉ LUIS HERNÁNDEZ RAMÍRES", "Hernández Ramírez José Luis"],
)
def test_close_names_with_same_birth_date_and_country_are_flagged(spelling):
    first = intake(a_number="").case
    second = intake(a_number="", legal_name=spelling, country_of_birth="guatemala")
    assert [(f.other, f.reason) for f in second.duplicates] == [(first, DuplicateReason.NAME_BIRTH)]


@pytest.mark.parametrize(
    "change",
    [
        {"legal_name": "María Fernanda López"},
        {"date_of_birth": date(1987, 4, 24)},
        {"country_of_birth": "Honduras"},
    ],
)
def test_different_people_are_not_flagged(change):
    intake(a_number="")
    assert intake(a_number="", **change).duplicates == []


def test_merge_keeps_both_histories_and_points_the_old_case_on():
    volunteer = person("vol", Role.HOTLINE)
    older = intake(a_number="").case
    services.log_custody_search(
        older, volunteer, where_looked="online_locator", result=SearchResult.NOT_FOUND
    )
    newer_outcome = intake(legal_name="Jose Hernandez Ramirez", caller_name="Ana")
    newer = newer_outcome.case
    services.add_note(newer, volunteer, "called the consulate")
    services.merge_cases(older, newer, volunteer)

    older.refresh_from_db()
    newer.refresh_from_db()
    assert newer.merged_into == older
    assert sorted(older.intakes.values_list("caller_name", flat=True)) == ["Ana", "Rosa Hernández"]
    assert older.custody_searches.count() == 1
    assert older.notes.get().body == "called the consulate"
    assert older.a_number() == A_NUMBER_DIGITS  # taken from the newer report
    assert "Jose Hernandez Ramirez" in older.other_names
    assert StatusEvent.objects.filter(case=older).count() == 3  # two reports and the merge
    assert not services.open_duplicate_flags(older).exists()
    with pytest.raises(ValueError, match="already been merged"):
        services.merge_cases(older, newer, volunteer)


def test_found_custody_search_locates_the_case_with_who_and_when():
    volunteer = person("vol", Role.HOTLINE, display_name="Vera")
    case = intake().case
    services.log_custody_search(
        case, volunteer, where_looked="online_locator", result=SearchResult.NOT_FOUND
    )
    assert case.status == CaseStatus.REPORTED
    services.log_custody_search(
        case,
        volunteer,
        where_looked="facility",
        result=SearchResult.FOUND,
        facility_name="Eloy Detention Center",
        facility_address="1705 E Hanna Rd, Eloy, AZ",
        facility_phone="520-464-3000",
    )
    case.refresh_from_db()
    assert (case.status, case.facility_name) == (CaseStatus.LOCATED, "Eloy Detention Center")
    steps = list(services.timeline(case))
    assert [s.status for s in steps] == [CaseStatus.REPORTED, CaseStatus.LOCATED]
    assert steps[-1].by == volunteer
    assert steps[-1].at >= steps[0].at


def test_name_normalisation():
    assert services.normalise_name("  José-Luis  O'Brien ") == "jose luis o brien"
    assert services.within_distance("ramirez", "ramires", 1)
    assert not services.within_distance("ramirez", "ramos", 2)
    assert BIRTH_DATE.year == 1987


@pytest.mark.django_db
def test_both_cases_show_the_possible_duplicate_and_either_can_merge():
    from django.urls import reverse

    from amparo.accounts.roles import Role
    from tests.hotline.factories import attorney, person, signed_in

    older = intake().case
    lawyer = attorney("ana")
    older.assigned_attorney = lawyer
    older.save()
    newer = intake(a_number="A-012-345-678", caller_name="Otra").case
    client = signed_in(person("vol", Role.HOTLINE))
    page = client.get(reverse("hotline:case", args=[older.pk])).content.decode()
    assert f"May be the same person as case {newer.pk}" in page
    newer_page = client.get(reverse("hotline:case", args=[newer.pk])).content.decode()
    assert f"May be the same person as case {older.pk}" in newer_page
    assert "That case already has an attorney." in newer_page
    assert "merge or dismiss that first" in newer_page
    listing = client.get(reverse("hotline:cases")).content.decode()
    assert listing.count("possible duplicate") == 2
    # Merging from the older case's page keeps the older case, as from the newer one's.
    flag = services.open_duplicate_flags(older).get()
    answer = client.post(
        reverse("hotline:case_merge", args=[older.pk]), {"flag": flag.pk, "decision": "merge"}
    )
    assert answer["Location"] == reverse("hotline:case", args=[older.pk])
    newer.refresh_from_db()
    assert newer.merged_into_id == older.pk


@pytest.mark.django_db
def test_after_a_merge_every_flag_naming_the_absorbed_case_names_the_survivor():
    volunteer = person("vol", Role.HOTLINE)
    first = intake(a_number="A 111 111 111", legal_name="Ana Uno").case
    second = intake(a_number="A 111 111 111", legal_name="Ana Dos").case  # flags first
    third = intake(a_number="A 222 222 222", legal_name="Otra Persona").case
    # The third is flagged as the second (by hand here: a volunteer's own doubt).
    DuplicateFlag.objects.create(case=third, other=second, reason=DuplicateReason.A_NUMBER)
    DuplicateFlag.objects.create(case=third, other=first, reason=DuplicateReason.NAME_BIRTH)
    services.merge_cases(first, second, volunteer)
    # third-second became third-first, which third already had: one flag is left, not two.
    open_pairs = [(f.case_id, f.other_id) for f in services.open_duplicate_flags(first)]
    assert open_pairs == [(third.pk, first.pk)]
    assert [services.other_side(f, third).pk for f in services.open_duplicate_flags(third)] == [
        first.pk
    ]
    assert not services.open_duplicate_flags(second).exists()
