"""A form on the case page that is refused comes back as it was typed, with its errors."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from amparo.accounts.roles import Role
from amparo.hotline.models import CustodySearch, Hearing, Note
from tests.hotline.factories import attorney, intake, person, signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def as_assigned_attorney():
    case = intake().case
    lawyer = attorney("ana")
    case.assigned_attorney = lawyer
    case.save()
    return case, signed_in(lawyer)


def test_a_bond_decision_without_its_date_keeps_what_was_typed(as_assigned_attorney):
    case, client = as_assigned_attorney
    answer = client.post(
        reverse("hotline:case_hearing", args=[case.pk]),
        {
            "kind": "bond",
            "court": "Eloy Immigration Court",
            "judge": "Judge Example",
            "bond_outcome": "granted",
            "bond_amount": "7500",
        },
    )
    assert answer.status_code == 400
    page = answer.content.decode()
    assert "A bond decision needs the date it was made." in page
    assert 'value="Eloy Immigration Court"' in page
    assert 'value="Judge Example"' in page
    assert 'value="7500"' in page
    assert '<option value="granted" selected>' in page
    assert "<details open>" in page
    assert not Hearing.objects.exists()


def test_a_decision_date_in_the_future_is_refused(as_assigned_attorney):
    case, client = as_assigned_attorney
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    answer = client.post(
        reverse("hotline:case_hearing", args=[case.pk]),
        {"kind": "bond", "bond_outcome": "denied", "decision_date": tomorrow},
    )
    assert answer.status_code == 400
    assert "A decision date cannot be in the future." in answer.content.decode()
    assert not case.deadlines.exists()


def test_a_custody_search_refused_keeps_the_facility_typed():
    case = intake().case
    client = signed_in(person("vol", Role.HOTLINE))
    answer = client.post(
        reverse("hotline:case_search", args=[case.pk]),
        {"where_looked": "nowhere-known", "result": "found", "facility_name": "Eloy Detention"},
    )
    assert answer.status_code == 400
    assert 'value="Eloy Detention"' in answer.content.decode()
    assert not CustodySearch.objects.exists()


def test_an_empty_note_says_so_and_a_good_one_is_kept():
    case = intake().case
    client = signed_in(person("vol", Role.HOTLINE))
    refused = client.post(reverse("hotline:case_note", args=[case.pk]), {"body": ""})
    assert refused.status_code == 400
    assert "This field is required." in refused.content.decode()
    kept = client.post(reverse("hotline:case_note", args=[case.pk]), {"body": "called"})
    assert kept.status_code == 302
    assert Note.objects.get().body == "called"
