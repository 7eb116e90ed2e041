"""A family who set up an authenticator app and then lost the phone is not locked out of
their plan: recovery codes are shown once when the app is turned on, each signs in once, and
with the passphrase again the family moves to a new phone or gets new codes."""

from __future__ import annotations

import re

import pyotp
import pytest
from django.test import Client
from django.urls import reverse

from amparo.audit.models import AuditEvent
from amparo.preparedness.models import FamilyAccount, FamilyRecoveryCode
from tests.preparedness.conftest import make_family

pytestmark = pytest.mark.django_db

PASSPHRASE = "luna-cielo-tren-faro-42"
CODE = re.compile(r"<code>([a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4})</code>")


def sign_in(client: Client, code: str | None = None) -> str:
    """Passphrase, then (if asked) the code; returns where the family ended up."""
    response = client.post(
        reverse("preparedness:sign_in"), {"username": "rivera", "passphrase": PASSPHRASE}
    )
    if response["Location"] == reverse("preparedness:sign_in_code") and code is not None:
        response = client.post(reverse("preparedness:sign_in_code"), {"code": code})
        if response.status_code == 200:
            return "refused"
    return str(response["Location"])


def turn_on_the_app(client: Client, account: FamilyAccount) -> list[str]:
    client.get(reverse("preparedness:security"))
    account.refresh_from_db()
    page = client.post(
        reverse("preparedness:security"), {"code": pyotp.TOTP(account.totp_secret).now()}
    ).content.decode()
    assert "Your recovery codes" in page
    return CODE.findall(page)


def test_recovery_codes_are_shown_once_and_each_signs_in_once() -> None:
    account = make_family(language="en")
    client = Client()
    assert sign_in(client) == reverse("preparedness:home")
    codes = turn_on_the_app(client, account)
    assert len(codes) == len(set(codes)) == 10
    # Stored as hashes only: no code appears in the database.
    stored = set(FamilyRecoveryCode.objects.values_list("code_hash", flat=True))
    assert len(stored) == 10
    assert not stored & {c.replace("-", "") for c in codes}
    # The page does not show them again.
    again = client.get(reverse("preparedness:security")).content.decode()
    assert not CODE.findall(again)
    assert "You have 10 recovery codes left." in again

    lost_phone = Client()
    assert sign_in(lost_phone, codes[0].upper()) == reverse("preparedness:home")
    assert lost_phone.get(reverse("preparedness:home")).status_code == 200
    assert AuditEvent.objects.filter(action="family.recovery_code_used").count() == 1
    # Used once, never again; a code of another shape is simply wrong.
    assert sign_in(Client(), codes[0]) == "refused"
    assert sign_in(Client(), "abcd-efgh-jkmn-pqrs") == "refused"
    assert (
        "You have 9 recovery codes left."
        in lost_phone.get(reverse("preparedness:security")).content.decode()
    )


def test_a_new_phone_needs_the_passphrase_and_ends_the_old_app_and_codes() -> None:
    account = make_family(language="en")
    client = Client()
    sign_in(client)
    codes = turn_on_the_app(client, account)
    old_secret = pyotp.TOTP(FamilyAccount.objects.get(pk=account.pk).totp_secret)

    refused = client.post(
        reverse("preparedness:security"), {"action": "new_phone", "passphrase": "wrong-words-1"}
    )
    assert "That passphrase is not right." in refused.content.decode()
    account.refresh_from_db()
    assert account.totp_confirmed_at is not None

    moved = client.post(
        reverse("preparedness:security"), {"action": "new_phone", "passphrase": PASSPHRASE}
    )
    assert moved["Location"] == reverse("preparedness:security")
    account.refresh_from_db()
    assert account.totp_confirmed_at is None
    assert not FamilyRecoveryCode.objects.filter(account=account).exists()
    # Until the new phone is set up, the passphrase alone signs in; old codes do nothing.
    assert sign_in(Client(), codes[1]) == reverse("preparedness:home")
    new_codes = turn_on_the_app(client, account)
    assert not set(new_codes) & set(codes)
    new_secret = pyotp.TOTP(FamilyAccount.objects.get(pk=account.pk).totp_secret)
    assert new_secret.secret != old_secret.secret
    assert sign_in(Client(), codes[2]) == "refused"
    assert AuditEvent.objects.filter(action="family.totp_removed").count() == 1


def test_new_recovery_codes_replace_the_old_ones() -> None:
    account = make_family(language="en")
    client = Client()
    sign_in(client)
    old = turn_on_the_app(client, account)
    page = client.post(
        reverse("preparedness:security"), {"action": "new_codes", "passphrase": PASSPHRASE}
    ).content.decode()
    new = CODE.findall(page)
    assert len(new) == 10
    assert not set(new) & set(old)
    assert sign_in(Client(), old[0]) == "refused"
    assert sign_in(Client(), new[0]) == reverse("preparedness:home")


def test_when_the_app_secret_no_longer_opens_a_recovery_code_still_signs_in(caplog) -> None:
    account = make_family(language="en")
    client = Client()
    sign_in(client)
    codes = turn_on_the_app(client, account)
    # As after a restore without the field key: the sealed secret is there but does not open.
    other = make_family("santos", language="en")
    other.totp_secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    other.save()
    FamilyAccount.objects.filter(pk=account.pk).update(
        sealed_totp_secret=FamilyAccount.objects.get(pk=other.pk).sealed_totp_secret
    )
    assert sign_in(Client(), "123456") == "refused"
    assert "does not open" in caplog.text
    told = Client()
    sign_in(told)
    refusal = told.post(reverse("preparedness:sign_in_code"), {"code": "123456"})
    assert "cannot be checked at the moment" in refusal.content.decode()
    rescued = Client()
    assert sign_in(rescued, codes[3]) == reverse("preparedness:home")
    moved = rescued.post(
        reverse("preparedness:security"), {"action": "new_phone", "passphrase": PASSPHRASE}
    )
    assert moved["Location"] == reverse("preparedness:security")
    assert len(turn_on_the_app(rescued, account)) == 10
