"""Failed sign-ins lock a (username, address) pair only, with a cool-off."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from amparo.accounts import services
from amparo.accounts.models import SignInThrottle, ThrottleKind
from amparo.audit.models import AuditEvent
from tests.accounts.flows import make_enrolled_user, password_step, sign_in_fully

ATTACKER = "192.0.2.66"
HOME = "198.51.100.7"


@pytest.mark.django_db
def test_fifty_wrong_passwords_from_one_address_do_not_lock_out_another_address():
    user, _secret = make_enrolled_user("olivia")
    attacker = Client(REMOTE_ADDR=ATTACKER)
    for _attempt in range(50):
        response = password_step(attacker, "olivia", "wrong password entirely")
        assert response.status_code == 200
    assert b"Too many failed attempts" in response.content

    observer = Client(REMOTE_ADDR=HOME)
    sign_in_fully(observer, user, REMOTE_ADDR=HOME)
    assert observer.get("/home/").status_code == 200


@pytest.mark.django_db
def test_the_pair_is_refused_even_with_the_right_password_until_the_cool_off(settings):
    _user, _secret = make_enrolled_user("luis")
    client = Client(REMOTE_ADDR=ATTACKER)
    for _attempt in range(settings.LOGIN_FAILURE_LIMIT):
        password_step(client, "luis", "not the password")
    refused = password_step(client, "LUIS")
    assert refused.status_code == 200
    assert b"Too many failed attempts" in refused.content
    assert AuditEvent.objects.filter(action="sign_in.locked_out").count() == 1
    assert AuditEvent.objects.filter(action="sign_in.failed").count() == 5

    # The cool-off passes.
    SignInThrottle.objects.update(
        locked_until=timezone.now() - timedelta(seconds=1),
        first_failure_at=timezone.now() - timedelta(seconds=settings.LOGIN_COOL_OFF_SECONDS + 1),
    )
    assert password_step(client, "luis").status_code == 302


@pytest.mark.django_db
def test_failures_spread_beyond_the_window_do_not_lock(settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    for _attempt in range(2):
        services.record_failure(ThrottleKind.PASSWORD, "ana", ATTACKER)
    SignInThrottle.objects.update(
        first_failure_at=timezone.now() - timedelta(seconds=settings.LOGIN_COOL_OFF_SECONDS)
    )
    assert not services.record_failure(ThrottleKind.PASSWORD, "ana", ATTACKER)
    assert services.locked_until(ThrottleKind.PASSWORD, "ana", ATTACKER) is None
    assert not services.record_failure(ThrottleKind.PASSWORD, "ana", ATTACKER)
    assert services.record_failure(ThrottleKind.PASSWORD, "ana", ATTACKER)
    assert services.locked_until(ThrottleKind.PASSWORD, "ANA ", ATTACKER) is not None
    assert services.locked_until(ThrottleKind.PASSWORD, "ana", HOME) is None
    assert services.locked_until(ThrottleKind.TOTP, "ana", ATTACKER) is None


@pytest.mark.django_db
def test_addresses_are_stored_only_as_keyed_hashes():
    services.record_failure(ThrottleKind.PASSWORD, "ana", ATTACKER)
    row = SignInThrottle.objects.get()
    assert ATTACKER not in row.address_hmac
    assert len(row.address_hmac) == 64
    assert row.address_hmac == services.address_key(ATTACKER)
    assert row.address_hmac != services.hash_token(ATTACKER)


@pytest.mark.django_db
def test_success_clears_the_failure_count(settings):
    user, _secret = make_enrolled_user("sol")
    client = Client(REMOTE_ADDR=HOME)
    for _attempt in range(settings.LOGIN_FAILURE_LIMIT - 1):
        password_step(client, "sol", "typo typo typo")
    assert password_step(client, "sol").status_code == 302
    assert not SignInThrottle.objects.filter(kind=ThrottleKind.PASSWORD).exists()
    assert user.is_active
