"""TOTP secrets are sealed at rest: the column never holds them in the clear."""

from __future__ import annotations

import base64
import time
from importlib import import_module

import pyotp
import pytest
from django.apps import apps as live_apps
from django.db import connection
from django.test import Client

from amparo.accounts import services
from amparo.accounts.models import SignInThrottle, ThrottleKind, TOTPDevice, User
from amparo.hotline.sealed_fields import UnsealError
from tests.accounts.flows import (
    PASSWORD,
    code_for,
    enrol_through_pages,
    make_enrolled_user,
    password_step,
)

BEFORE = [("accounts", "0001_initial")]
AFTER = [("accounts", "0002_seal_totp_secrets")]


QUERIES = {
    # Before the migration the column is `secret`, after it `sealed_secret`.
    "secret": "SELECT secret FROM accounts_totpdevice WHERE user_id = %s",
    "sealed_secret": "SELECT sealed_secret FROM accounts_totpdevice WHERE user_id = %s",
}


def read_raw(query: str, row_id: int) -> str:
    """What the database holds, read with plain SQL, past the model."""
    with connection.cursor() as cursor:
        cursor.execute(query, [row_id])
        row = cursor.fetchone()
    assert row is not None
    return str(row[0])


def raw_value(column: str, user_id: int) -> str:
    return read_raw(QUERIES[column], user_id)


def raw_column(user: User) -> str:
    return raw_value("sealed_secret", user.pk)


def assert_not_in_clear(stored: str, secret: str) -> None:
    assert secret not in stored
    assert secret.lower() not in stored.lower()
    raw_bytes = base64.b32decode(secret)
    assert raw_bytes.hex() not in stored.lower()
    assert base64.urlsafe_b64encode(raw_bytes).decode().rstrip("=") not in stored
    assert base64.b64encode(raw_bytes).decode().rstrip("=") not in stored
    assert stored.startswith("v1:")


@pytest.mark.django_db
def test_the_secret_enrolled_through_the_pages_is_not_in_the_column_in_clear():
    User.objects.create_user(username="nadia", password=PASSWORD, role="observer")
    client = Client()
    password_step(client, "nadia")
    secret, _codes = enrol_through_pages(client)
    user = User.objects.get(username="nadia")
    assert_not_in_clear(raw_column(user), secret)
    assert TOTPDevice.objects.get(user=user).secret == secret


@pytest.mark.django_db
def test_demo_secrets_are_sealed_too(settings):
    settings.DEBUG = True
    for demo in services.create_demo_accounts():
        user = User.objects.get(username=demo.username)
        assert_not_in_clear(raw_column(user), demo.totp_secret)
        device = TOTPDevice.objects.get(user=user)
        assert services.check_totp(device, pyotp.TOTP(demo.totp_secret).now()) is (
            services.CodeCheck.ACCEPTED
        )


@pytest.mark.django_db
def test_a_sealed_secret_copied_onto_another_row_does_not_open():
    victim, secret = make_enrolled_user("vera")
    attacker, _own = make_enrolled_user("abel")
    stolen = TOTPDevice.objects.get(user=victim).sealed_secret
    TOTPDevice.objects.filter(user=attacker).update(sealed_secret=stolen)
    device = TOTPDevice.objects.get(user=attacker)
    with pytest.raises(UnsealError):
        _ = device.secret
    assert TOTPDevice.objects.get(user=victim).secret == secret


def test_the_migration_seals_existing_plaintext_secrets_and_can_be_reversed(executor):
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    old_user = old.get_model("accounts", "User").objects.create(username="pia", role="observer")
    secret = pyotp.random_base32(length=32)
    old.get_model("accounts", "TOTPDevice").objects.create(
        user=old_user, secret=secret, confirmed_at="2026-01-01T00:00:00Z"
    )
    assert raw_value("secret", old_user.pk) == secret  # the starting point really is plaintext

    executor.loader.build_graph()
    executor.migrate(AFTER)

    user = User.objects.get(pk=old_user.pk)
    assert_not_in_clear(raw_column(user), secret)
    device = TOTPDevice.objects.get(user=user)
    assert device.secret == secret
    now = time.time()
    assert services.check_totp(device, pyotp.TOTP(secret).at(now), at=now) is (
        services.CodeCheck.ACCEPTED
    )
    assert services.check_totp(device, pyotp.TOTP(secret).at(now), at=now) is (
        services.CodeCheck.REPLAYED
    )

    executor.loader.build_graph()
    executor.migrate(BEFORE)
    assert raw_value("secret", user.pk) == secret  # going back opens it with the same key


def test_running_the_sealing_step_on_an_already_sealed_row_leaves_it_alone(executor):
    executor.migrate(BEFORE)
    executor.loader.build_graph()
    executor.migrate(AFTER)
    user, secret = make_enrolled_user("omar")
    before = raw_column(user)
    step = import_module("amparo.accounts.migrations.0002_seal_totp_secrets")
    with connection.schema_editor() as editor:
        step.seal_secrets(live_apps, editor)
    assert raw_column(user) == before
    assert TOTPDevice.objects.get(user=user).secret == secret


@pytest.mark.django_db
def test_an_unfinished_enrolment_whose_secret_no_longer_opens_starts_afresh():
    # As after a lost field key: the half-made device's sealed secret opens under no key.
    user = User.objects.create_user(username="lena", password=PASSWORD, role="observer")
    device = services.start_enrolment(user)
    TOTPDevice.objects.filter(pk=device.pk).update(sealed_secret="v1:" + "A" * 80)
    client = Client()
    password_step(client, "lena")
    secret, _codes = enrol_through_pages(client)
    assert TOTPDevice.objects.get(user=user).secret == secret
    assert TOTPDevice.objects.get(user=user).confirmed_at is not None


@pytest.mark.django_db
def test_a_secret_that_no_longer_opens_is_explained_and_a_recovery_code_still_signs_in(caplog):
    from amparo.audit.models import AuditEvent

    User.objects.create_user(username="rita", password=PASSWORD, role="observer")
    first = Client()
    password_step(first, "rita")
    secret, codes = enrol_through_pages(first)
    rita = User.objects.get(username="rita")
    # As after a restore without the field key: the sealed value is there but does not open.
    other, _secret = make_enrolled_user("omar")
    unopenable = TOTPDevice.objects.get(user=other).sealed_secret
    TOTPDevice.objects.filter(user=rita).update(sealed_secret=unopenable)

    client = Client()
    assert password_step(client, "rita").status_code == 302
    refused = client.post("/accounts/mfa/verify/", {"code": code_for(secret, 1)})
    assert refused.status_code == 200
    assert "cannot be checked at the moment" in refused.content.decode()
    assert "the authenticator secret does not open" in caplog.text
    actions = list(
        AuditEvent.objects.filter(target=f"user:{rita.pk}").values_list("action", flat=True)
    )
    assert "mfa.secret_unreadable" in actions
    assert "mfa.failed" not in actions  # told apart from a wrong code ...
    # ... but counted like one towards a lockout (from this address, and from anywhere)
    counted = SignInThrottle.objects.filter(kind=ThrottleKind.TOTP, username="rita")
    assert sorted(row.failures for row in counted) == [1, 1]

    signed_in = client.post("/accounts/mfa/verify/", {"code": codes[0]})
    assert signed_in.status_code == 302
    assert client.get("/accounts/account/").status_code == 200
