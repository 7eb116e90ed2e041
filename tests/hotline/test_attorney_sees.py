"""What an attorney reads on an offer and on their case, and what each read leaves behind.

A merge can join a report whose caller did not agree to share with partner attorneys to one
whose caller did; the attorney reads only the second. A pending offer whose time ran out
shows no details any more, even before `expireoffers` has passed it on. Every page that shows
cases leaves an audit event naming them.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from amparo.accounts.roles import Role
from amparo.audit.models import AuditEvent
from amparo.hotline import referrals, services
from amparo.hotline.models import Offer
from tests.hotline.factories import attorney, intake, offered, person, signed_in

pytestmark = pytest.mark.django_db

PRIVATE = "PRIVATE-MEDICAL-NOTE"


@pytest.fixture
def merged_case():
    """Two reports of one person, merged: the second caller did not agree to share."""
    volunteer = person("vol", Role.HOTLINE)
    shared = intake(caller_name="Rosa Sharing", county="Maricopa").case
    withheld = intake(
        caller_name="Marta Private",
        consent_share_with_attorneys=False,
        medical_needs=PRIVATE,
        a_number="A-012-345-678",
    ).case
    services.merge_cases(shared, withheld, volunteer)
    shared.refresh_from_db()
    return shared, volunteer


def test_an_offer_shows_only_the_reports_shared_with_attorneys(merged_case):
    case, volunteer = merged_case
    lawyer = attorney("ana")
    offer = offered(case, volunteer)
    assert offer.attorney == lawyer
    referrals.confirm_no_conflict(offer)
    page = signed_in(lawyer).get(reverse("hotline:offer", args=[offer.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert "Rosa Sharing" in text
    assert "Marta Private" not in text
    assert PRIVATE not in text
    assert "One more report on this case is not shown" in text


def test_the_assigned_attorney_reads_only_the_shared_reports(merged_case):
    case, volunteer = merged_case
    lawyer = attorney("ana")
    offer = offered(case, volunteer)
    referrals.confirm_no_conflict(offer)
    referrals.accept_offer(offer)
    text = signed_in(lawyer).get(reverse("hotline:case", args=[case.pk])).content.decode()
    assert "Rosa Sharing" in text
    assert "Marta Private" not in text
    assert PRIVATE not in text
    # Hotline staff still read both reports.
    staff = signed_in(volunteer).get(reverse("hotline:case", args=[case.pk])).content.decode()
    assert "Marta Private" in staff
    assert PRIVATE in staff
    assert "is not shown" not in staff


def test_details_close_when_the_time_to_answer_runs_out():
    case = intake().case
    lawyer = attorney("ana")
    offer = offered(case)
    referrals.confirm_no_conflict(offer)
    assert referrals.may_see_details(offer)
    assert not referrals.may_see_details(offer, now=offer.expires_at)
    Offer.objects.filter(pk=offer.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    page = signed_in(lawyer).get(reverse("hotline:offer", args=[offer.pk]))
    assert page.status_code == 200
    assert "A012" not in page.content.decode().replace("-", "")
    assert not AuditEvent.objects.filter(action="hotline.offer.details_read").exists()
    assert AuditEvent.objects.filter(
        action="hotline.offer.read", target=f"offer:{offer.pk}"
    ).exists()


def test_the_case_list_and_a_search_leave_the_cases_they_showed():
    first, second = intake().case, intake(legal_name="Otra Persona", a_number="A 111 222 333").case
    client = signed_in(person("vol", Role.HOTLINE))
    assert client.get(reverse("hotline:cases")).status_code == 200
    listed = AuditEvent.objects.get(action="hotline.case.list")
    assert listed.detail == f"cases {second.pk},{first.pk}"
    client.post(reverse("hotline:cases"), {"a_number": "111-222-333"})
    searched = AuditEvent.objects.get(action="hotline.search.a_number")
    assert searched.detail == f"1 found: cases {second.pk}"
    assert "111" not in searched.detail.replace(str(second.pk), "")


def test_an_offer_read_before_the_conflict_check_is_recorded():
    case = intake().case
    lawyer = attorney("ana")
    offer = offered(case)
    assert signed_in(lawyer).get(reverse("hotline:offer", args=[offer.pk])).status_code == 200
    assert AuditEvent.objects.filter(
        action="hotline.offer.read", target=f"offer:{offer.pk}", actor=lawyer
    ).exists()


def test_an_attorneys_own_case_list_is_audited_with_the_cases_it_named():
    lawyer = attorney("ana")
    case = intake().case
    case.assigned_attorney = lawyer
    case.save()
    page = signed_in(lawyer).get(reverse("hotline:offers")).content.decode()
    assert case.legal_name in page
    assert AuditEvent.objects.get(action="hotline.case.list", actor=lawyer).detail == (
        f"cases {case.pk}"
    )
