from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.test import override_settings

from amparo.custody.evidence import forget_opened_stores
from amparo.preparedness.models import (
    ContactChannel,
    EmergencyContact,
    FamilyAccount,
    HouseholdMember,
    Instrument,
    MayBeTold,
    Plan,
)
from tests.notify.loopback import sms_gateway, smtp_inbox

__all__ = ["sms_gateway", "smtp_inbox"]

HOTLINE = "+15550100200"


@pytest.fixture(autouse=True)
def private_evidence_store(tmp_path: Path) -> Iterator[Path]:
    directory = tmp_path / "evidence"
    forget_opened_stores()
    with override_settings(EVIDENCE_DIR=directory, AMPARO_HOTLINE_NUMBER=HOTLINE):
        yield directory
    forget_opened_stores()


def make_family(username: str = "rivera", language: str = "es") -> FamilyAccount:
    from amparo.preparedness.family_accounts import create_account

    return create_account(
        username, f"Familia {username.title()}", language, "luna-cielo-tren-faro-42"
    )


def fill_plan(plan: Plan, *, contact_email: str = "tia@example.org") -> Plan:
    plan.person_name = "María Rivera"
    plan.attorney_name = "Lic. Ana Torres"
    plan.attorney_phone = "+15550100300"
    plan.save()
    for name, carer in (("Sofía Rivera", "Rosa Rivera"), ("Mateo Rivera", "Rosa Rivera")):
        HouseholdMember.objects.create(
            plan=plan,
            name=name,
            is_child=True,
            primary_caregiver=carer,
            backup_caregiver="Luis Pérez",
            instrument=Instrument.AFFIDAVIT,
            allergies="peanuts" if name.startswith("Sof") else "",
        )
    EmergencyContact.objects.create(
        plan=plan,
        name="Rosa",
        language="es",
        channel=ContactChannel.EMAIL,
        email=contact_email,
        may_be_told=MayBeTold.CHILDREN,
    )
    EmergencyContact.objects.create(
        plan=plan,
        name="Pastor John",
        language="en",
        channel=ContactChannel.EMAIL,
        email="pastor@example.org",
        message="Please call Rosa and the hotline. We prepared for this.",
    )
    return plan


@pytest.fixture(autouse=True)
def fast_password_hasher(settings) -> None:
    # Argon2 costs about a second a hash here; the browser flow keeps it, these do not.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
