"""Named people and ready-made intakes for hotline and directory tests."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.test import Client

from amparo.accounts.models import PartnerOrganization, User
from amparo.accounts.roles import Role
from amparo.directory.models import AttorneyProfile
from amparo.hotline.models import Case, IntakeChannel, Offer
from amparo.hotline.referrals import offer_to_next
from amparo.hotline.services import IntakeAnswers, IntakeOutcome, record_intake
from amparo.web.policy import MFA_SESSION_KEY

A_NUMBER_WRITTEN = "A 012 345 678"
A_NUMBER_DIGITS = "012345678"
BIRTH_DATE = date(1987, 4, 23)


def answers(**overrides: Any) -> IntakeAnswers:
    values: dict[str, Any] = {
        "caller_name": "Rosa Hernández",
        "caller_relationship": "sister",
        "caller_phone": "+1 555 0100",
        "caller_email": "rosa@example.org",
        "caller_language": "es",
        "update_channel": "email",
        "legal_name": "José Luis Hernández Ramírez",
        "date_of_birth": BIRTH_DATE,
        "country_of_birth": "Guatemala",
        "a_number": A_NUMBER_WRITTEN,
        "best_language": "es",
        "county": "Maricopa",
        "consent_share_with_attorneys": True,
        "consent_updates_location": True,
    }
    values.update(overrides)
    return IntakeAnswers(**values)


def intake(**overrides: Any) -> IntakeOutcome:
    return record_intake(answers(**overrides), IntakeChannel.PUBLIC_FORM)


def person(username: str, role: Role, **extra: Any) -> User:
    return User.objects.create_user(
        username=username, role=role, email=f"{username}@example.org", **extra
    )


def attorney(username: str, *, languages: str = "es", capacity: int = 3, **profile: Any) -> User:
    organization, _ = PartnerOrganization.objects.get_or_create(name="Defensa Legal")
    user = person(username, Role.ATTORNEY, organization=organization, display_name=username.title())
    AttorneyProfile.objects.create(
        attorney=user, languages=languages.replace(",", "\n"), capacity=capacity, **profile
    )
    return user


def offered(case: Case, by: User | None = None) -> Offer:
    """Offer the case to the best-ranked attorney; the test expects there to be one."""
    offer = offer_to_next(case, by)
    assert offer is not None, "no attorney was suggested for this case"
    return offer


def signed_in(user: User) -> Client:
    """A client signed in as this person with the second factor done."""
    client = Client()
    client.force_login(user)
    session = client.session
    session[MFA_SESSION_KEY] = True
    session.save()
    return client
