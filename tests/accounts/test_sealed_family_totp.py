"""A family account's optional TOTP secret is sealed at rest like the staff ones."""

from __future__ import annotations

import time

import pyotp
import pytest

from amparo.hotline.sealed_fields import UnsealError
from amparo.preparedness.family_accounts import (
    confirm_totp,
    create_account,
    start_totp,
    totp_matches,
)
from amparo.preparedness.models import FamilyAccount
from tests.accounts.test_sealed_totp import assert_not_in_clear, read_raw

BEFORE = [("preparedness", "0002_alert_retries")]
AFTER = [("preparedness", "0003_seal_totp_secrets")]
QUERIES = {
    # Before the migration the column is `totp_secret`, after it `sealed_totp_secret`.
    "totp_secret": "SELECT totp_secret FROM preparedness_familyaccount WHERE id = %s",
    "sealed_totp_secret": "SELECT sealed_totp_secret FROM preparedness_familyaccount WHERE id = %s",
}


def raw_value(column: str, account_id: int) -> str:
    return read_raw(QUERIES[column], account_id)


def family(username: str) -> FamilyAccount:
    return create_account(username, f"Familia {username}", "es", "luna-cielo-tren-faro-42")


@pytest.mark.django_db
def test_a_family_secret_is_not_in_the_column_in_clear_and_still_enrols():
    account = family("rivera")
    assert raw_value("sealed_totp_secret", account.pk) == ""  # nothing begun, nothing stored
    start_totp(account)
    secret = account.totp_secret
    assert len(secret) == 32
    assert_not_in_clear(raw_value("sealed_totp_secret", account.pk), secret)
    # Seen again on a second visit to the set-up page: the same secret, not a new one.
    start_totp(FamilyAccount.objects.get(pk=account.pk))
    assert FamilyAccount.objects.get(pk=account.pk).totp_secret == secret
    confirm_totp(account, pyotp.TOTP(secret).now())
    assert FamilyAccount.objects.get(pk=account.pk).totp_confirmed_at is not None


@pytest.mark.django_db
def test_a_family_secret_copied_onto_another_account_does_not_open():
    first, second = family("rivera"), family("santos")
    start_totp(first)
    FamilyAccount.objects.filter(pk=second.pk).update(
        sealed_totp_secret=FamilyAccount.objects.get(pk=first.pk).sealed_totp_secret
    )
    with pytest.raises(UnsealError):
        _ = FamilyAccount.objects.get(pk=second.pk).totp_secret


def test_the_family_migration_seals_plaintext_secrets_and_can_be_reversed(executor):
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps.get_model("preparedness", "FamilyAccount")
    secret = pyotp.random_base32(length=32)
    enrolled = old.objects.create(
        username="rivera", display_name="Familia", passphrase_hash="x", totp_secret=secret
    )
    without = old.objects.create(username="santos", display_name="Familia", passphrase_hash="x")
    assert raw_value("totp_secret", enrolled.pk) == secret

    executor.loader.build_graph()
    executor.migrate(AFTER)

    assert_not_in_clear(raw_value("sealed_totp_secret", enrolled.pk), secret)
    assert raw_value("sealed_totp_secret", without.pk) == ""
    account = FamilyAccount.objects.get(pk=enrolled.pk)
    assert account.totp_secret == secret
    # The sealed secret still checks codes (confirming would also write recovery codes,
    # whose table comes with a later migration).
    assert totp_matches(account, pyotp.TOTP(secret).at(time.time()))

    executor.loader.build_graph()
    executor.migrate(BEFORE)
    assert raw_value("totp_secret", enrolled.pk) == secret
    assert raw_value("totp_secret", without.pk) == ""
