"""Offering a case to one attorney at a time: no conflict → details → accept or decline.

An offer nobody answers within OFFER_ANSWER_SECONDS passes to the next-ranked attorney
(`amparo expireoffers`, safe to run as often as you like).
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from amparo.accounts.models import User
from amparo.directory.services import CaseNeeds, Suggestion, rank_attorneys
from amparo.hotline.models import Case, CaseStatus, Offer, OfferState
from amparo.hotline.services import set_status
from amparo.web.policy import Refusal


def offer_answer_seconds() -> int:
    configured = getattr(settings, "HOTLINE_OFFER_ANSWER_SECONDS", None)
    if configured is None:
        configured = int(os.environ.get("AMPARO_OFFER_ANSWER_SECONDS", str(2 * 60 * 60)))
    return int(configured)


class OfferError(ValueError):
    """An offer step that cannot happen now; the message says why."""


def needs_of(case: Case) -> CaseNeeds:
    first = case.intakes.order_by("received_at", "id").first()
    languages = [case.best_language]
    if first is not None:
        languages.append(first.caller_language)
    return CaseNeeds(
        languages=tuple(language for language in languages if language),
        facility=case.facility_name,
        court=case.court,
        county=case.county,
        specialty=case.needed_specialty or "detention",
    )


def already_offered(case: Case) -> set[int]:
    return set(case.offers.values_list("attorney_id", flat=True))


def suggestions_for(case: Case) -> list[Suggestion]:
    """Ranked attorneys not yet offered this case."""
    return rank_attorneys(needs_of(case), exclude=already_offered(case))


def pending_offer(case: Case) -> Offer | None:
    return case.offers.filter(state=OfferState.PENDING).first()


@transaction.atomic
def offer_case(
    case: Case, attorney: User, by: User | None, rank: int = 1, now: datetime | None = None
) -> Offer:
    """Offer the case to one attorney; refuses while another offer is waiting."""
    now = now or timezone.now()
    if case.merged_into_id is not None:
        raise OfferError(_("This case was merged into another; offer that one instead."))
    if case.assigned_attorney_id is not None:
        raise OfferError(_("This case already has an attorney."))
    if not case.intakes.filter(consent_share_with_attorneys=True).exists():
        raise OfferError(_("The caller has not agreed to share this case with partner attorneys."))
    try:
        with transaction.atomic():
            offer = Offer.objects.create(
                case=case,
                attorney=attorney,
                rank=rank,
                offered_at=now,
                offered_by=by,
                expires_at=now + timedelta(seconds=offer_answer_seconds()),
            )
    except IntegrityError as error:
        raise OfferError(_("Another offer on this case is still waiting for an answer.")) from error
    mark_referred(case, by)
    return offer


def offer_to_next(case: Case, by: User | None, now: datetime | None = None) -> Offer | None:
    """Offer to the best-ranked attorney not yet asked; None when nobody is left."""
    ranked = suggestions_for(case)
    if not ranked:
        return None
    return offer_case(
        case, ranked[0].profile.attorney, by, rank=len(already_offered(case)) + 1, now=now
    )


def offer_for_attorney(offer_id: int, attorney: User) -> Offer:
    """The offer, only if it is addressed to this attorney (object-level check)."""
    offer = Offer.objects.select_related("case").filter(pk=offer_id).first()
    if offer is None or offer.attorney_id != attorney.pk:
        raise Refusal("this offer is addressed to another attorney")
    return offer


def _require_pending(offer: Offer, now: datetime) -> None:
    if offer.state != OfferState.PENDING:
        raise OfferError(_("This offer has already been answered or has passed on."))
    if now >= offer.expires_at:
        raise OfferError(_("The time to answer this offer has run out."))


def confirm_no_conflict(offer: Offer, now: datetime | None = None) -> Offer:
    now = now or timezone.now()
    _require_pending(offer, now)
    if offer.no_conflict_confirmed_at is None:
        offer.no_conflict_confirmed_at = now
        offer.save(update_fields=["no_conflict_confirmed_at"])
    return offer


def may_see_details(offer: Offer, now: datetime | None = None) -> bool:
    """An attorney sees the details once they confirmed no conflict, while the offer waits
    for their answer (not after its time ran out, even before `expireoffers` has passed it on)
    and after they accepted it."""
    if offer.no_conflict_confirmed_at is None:
        return False
    if offer.state == OfferState.ACCEPTED:
        return True
    return offer.state == OfferState.PENDING and (now or timezone.now()) < offer.expires_at


def note_details_viewed(offer: Offer, now: datetime | None = None) -> None:
    if offer.details_viewed_at is None:
        offer.details_viewed_at = now or timezone.now()
        offer.save(update_fields=["details_viewed_at"])


@transaction.atomic
def accept_offer(offer: Offer, now: datetime | None = None) -> Offer:
    now = now or timezone.now()
    offer = Offer.objects.select_for_update().get(pk=offer.pk)
    _require_pending(offer, now)
    if offer.no_conflict_confirmed_at is None:
        raise OfferError(_("Confirm that you have no conflict before accepting."))
    offer.state = OfferState.ACCEPTED
    offer.answered_at = now
    offer.save(update_fields=["state", "answered_at"])
    case = offer.case
    case.assigned_attorney = offer.attorney
    case.save(update_fields=["assigned_attorney"])
    if case.status in {CaseStatus.REPORTED, CaseStatus.LOCATED, CaseStatus.REFERRED}:
        set_status(case, CaseStatus.REPRESENTED, offer.attorney)
    return offer


@transaction.atomic
def decline_offer(
    offer: Offer, reason: str = "", conflict: bool = False, now: datetime | None = None
) -> Offer | None:
    """Decline, then pass the case to the next attorney. Returns the next offer, if any."""
    now = now or timezone.now()
    offer = Offer.objects.select_for_update().get(pk=offer.pk)
    _require_pending(offer, now)
    offer.state = OfferState.CONFLICT if conflict else OfferState.DECLINED
    offer.answered_at = now
    offer.decline_reason = reason[:300]
    offer.save(update_fields=["state", "answered_at", "decline_reason"])
    return offer_to_next(offer.case, None, now=now)


def expire_offers(now: datetime | None = None) -> list[tuple[Offer, Offer | None]]:
    """Pass every unanswered offer past its time to the next attorney. Idempotent."""
    now = now or timezone.now()
    passed: list[tuple[Offer, Offer | None]] = []
    for offer_id in Offer.objects.filter(state=OfferState.PENDING, expires_at__lte=now).values_list(
        "pk", flat=True
    ):
        with transaction.atomic():
            offer = Offer.objects.select_for_update().select_related("case").get(pk=offer_id)
            if offer.state != OfferState.PENDING:
                continue  # answered or expired by a concurrent run
            offer.state = OfferState.EXPIRED
            offer.answered_at = now
            offer.save(update_fields=["state", "answered_at"])
            passed.append((offer, offer_to_next(offer.case, None, now=now)))
    return passed


def mark_referred(case: Case, by: User | None) -> None:
    if case.status in {CaseStatus.REPORTED, CaseStatus.LOCATED}:
        set_status(case, CaseStatus.REFERRED, by)
