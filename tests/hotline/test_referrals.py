from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from amparo.accounts.roles import Role
from amparo.hotline import referrals
from amparo.hotline.models import CaseStatus, OfferState
from amparo.web.policy import Refusal
from tests.hotline.factories import attorney, intake, offered, person

pytestmark = pytest.mark.django_db


@pytest.fixture
def located_case():
    case = intake().case
    case.facility_name = "Eloy Detention Center"
    case.save()
    return case


def test_suggestions_rank_language_place_and_capacity(located_case):
    attorney("english_only", languages="en", facilities="Eloy Detention Center")
    attorney("spanish_far", languages="es,en", capacity=5)
    near = attorney("spanish_near", languages="es", facilities="Eloy Detention Center")
    attorney("spanish_full", languages="es", facilities="Eloy Detention Center", capacity=0)
    names = [s.profile.attorney.username for s in referrals.suggestions_for(located_case)]
    assert names == ["spanish_near", "spanish_far"]
    assert referrals.suggestions_for(located_case)[0].profile.attorney == near


def test_offer_flow_conflict_check_then_accept(located_case):
    volunteer = person("vol", Role.HOTLINE)
    lawyer = attorney("ana")
    offer = offered(located_case, volunteer)
    assert offer.attorney == lawyer
    located_case.refresh_from_db()
    assert located_case.status == CaseStatus.REFERRED
    assert not referrals.may_see_details(offer)
    with pytest.raises(referrals.OfferError, match="no conflict"):
        referrals.accept_offer(offer)
    referrals.confirm_no_conflict(offer)
    assert referrals.may_see_details(offer)
    referrals.accept_offer(offer)
    offer.refresh_from_db()
    located_case.refresh_from_db()
    assert offer.state == OfferState.ACCEPTED
    assert offer.no_conflict_confirmed_at is not None
    assert offer.answered_at is not None
    assert offer.offered_at <= offer.no_conflict_confirmed_at <= offer.answered_at
    assert located_case.assigned_attorney == lawyer
    assert located_case.status == CaseStatus.REPRESENTED


def test_only_one_offer_waits_at_a_time(located_case):
    attorney("ana")
    other = attorney("ben")
    offered(located_case)
    with pytest.raises(referrals.OfferError, match="still waiting"):
        referrals.offer_case(located_case, other, None)


def test_no_offer_without_consent_to_share_with_attorneys():
    attorney("ana")
    case = intake(consent_share_with_attorneys=False).case
    with pytest.raises(referrals.OfferError, match="not agreed"):
        referrals.offer_to_next(case, None)


def test_decline_passes_to_the_next_attorney(located_case):
    first = attorney("ana", facilities="Eloy Detention Center")
    second = attorney("ben")
    offer = offered(located_case)
    assert offer.attorney == first
    following = referrals.decline_offer(offer, reason="conflict", conflict=True)
    assert following is not None
    assert (following.attorney, following.rank) == (second, 2)
    offer.refresh_from_db()
    assert offer.state == OfferState.CONFLICT


def test_unanswered_offer_expires_to_the_next_and_the_command_is_idempotent(located_case):
    first = attorney("ana", facilities="Eloy Detention Center")
    second = attorney("ben")
    offer = offered(located_case)
    assert offer.attorney == first
    later = offer.expires_at + timedelta(seconds=1)
    assert referrals.expire_offers(now=offer.expires_at - timedelta(seconds=1)) == []
    passed = referrals.expire_offers(now=later)
    [(old, new_offer)] = passed
    assert new_offer is not None
    assert (old.pk, new_offer.attorney) == (offer.pk, second)
    assert referrals.expire_offers(now=later) == []
    offer.refresh_from_db()
    assert offer.state == OfferState.EXPIRED
    with pytest.raises(referrals.OfferError):
        referrals.confirm_no_conflict(offer)
    # When nobody is left, the case waits for a person to decide.
    passed_again = referrals.expire_offers(now=new_offer.expires_at)
    assert passed_again[0][1] is None


def test_expireoffers_command(located_case, capsys, settings):
    settings.HOTLINE_OFFER_ANSWER_SECONDS = 0
    attorney("ana")
    offered(located_case)
    call_command("expireoffers")
    call_command("expireoffers")
    out = capsys.readouterr().out
    assert out.count("expired") == 1
    assert "nobody left" in out


def test_an_attorney_cannot_reach_another_attorneys_offer(located_case):
    attorney("ana")
    intruder = attorney("ben", languages="en")
    offer = offered(located_case)
    with pytest.raises(Refusal):
        referrals.offer_for_attorney(offer.pk, intruder)
    assert referrals.offer_for_attorney(offer.pk, offer.attorney) == offer


def test_an_answer_after_the_time_is_refused(located_case):
    attorney("ana")
    offer = offered(located_case)
    with pytest.raises(referrals.OfferError, match="run out"):
        referrals.confirm_no_conflict(offer, now=timezone.now() + timedelta(days=1))
