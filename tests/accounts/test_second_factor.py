"""TOTP codes work once; recovery codes work once; wrong codes are throttled."""

from __future__ import annotations

import time

import pyotp
import pytest
from django.test import Client

from amparo.accounts import services
from amparo.accounts.models import TOTPDevice
from amparo.audit.models import AuditEvent
from amparo.web.policy import MFA_SESSION_KEY
from tests.accounts.flows import code_for, make_enrolled_user, password_step


@pytest.mark.django_db
def test_check_totp_accepts_a_step_once_and_refuses_older_steps():
    user, secret = make_enrolled_user("tomas")
    device = TOTPDevice.objects.get(user=user)
    now = time.time()
    code = pyotp.TOTP(secret).at(now)
    assert services.check_totp(device, code, at=now) is services.CodeCheck.ACCEPTED
    assert services.check_totp(device, code, at=now) is services.CodeCheck.REPLAYED
    previous = pyotp.TOTP(secret).at(now - 30)
    assert services.check_totp(device, previous, at=now) is services.CodeCheck.REPLAYED
    following = pyotp.TOTP(secret).at(now + 30)
    assert services.check_totp(device, following, at=now) is services.CodeCheck.ACCEPTED
    far = pyotp.TOTP(secret).at(now + 120)
    assert services.check_totp(device, far, at=now) is services.CodeCheck.WRONG
    assert services.check_totp(device, "12345", at=now) is services.CodeCheck.WRONG


@pytest.mark.django_db
def test_a_totp_code_replayed_at_sign_in_is_refused_and_recorded():
    user, secret = make_enrolled_user("rita")
    first = Client()
    password_step(first, "rita")
    code = code_for(secret)
    assert first.post("/accounts/mfa/verify/", {"code": code}).status_code == 302
    assert first.session[MFA_SESSION_KEY] is True

    second = Client()
    password_step(second, "rita")
    replay = second.post("/accounts/mfa/verify/", {"code": code})
    assert replay.status_code == 200
    assert b"already been used" in replay.content
    assert not second.session.get(MFA_SESSION_KEY)
    assert second.get("/home/")["Location"] == "/accounts/mfa/"
    assert AuditEvent.objects.filter(
        action="mfa.totp_replay_refused", actor=user, allowed=False
    ).exists()


@pytest.mark.django_db
def test_recovery_code_signs_in_once_only():
    user, _secret = make_enrolled_user("rosa")
    codes = services.issue_recovery_codes(user)
    assert len(codes) == 10
    client = Client()
    password_step(client, "rosa")
    # Typed in capitals and without dashes, it still counts.
    typed = codes[3].replace("-", " ").upper()
    assert client.post("/accounts/mfa/verify/", {"code": typed}).status_code == 302
    assert client.session[MFA_SESSION_KEY] is True
    assert AuditEvent.objects.filter(action="mfa.recovery_code_used", actor=user).exists()

    again = Client()
    password_step(again, "rosa")
    refused = again.post("/accounts/mfa/verify/", {"code": codes[3]})
    assert refused.status_code == 200
    assert not again.session.get(MFA_SESSION_KEY)
    assert services.unused_recovery_code_count(user) == 9


@pytest.mark.django_db
def test_recovery_codes_are_stored_hashed_and_regeneration_voids_old_ones():
    user, _secret = make_enrolled_user("remy")
    old = services.issue_recovery_codes(user)
    stored = set(user.recovery_codes.values_list("code_hash", flat=True))
    assert not stored & {code.replace("-", "") for code in old}
    new = services.issue_recovery_codes(user)
    assert not set(old) & set(new)
    assert not services.use_recovery_code(user, old[0])
    assert services.use_recovery_code(user, new[0])


@pytest.mark.django_db
def test_wrong_codes_are_throttled_per_person_and_address(settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    user, secret = make_enrolled_user("wendy")
    client = Client(REMOTE_ADDR="203.0.113.9")
    password_step(client, "wendy")
    for _attempt in range(3):
        client.post("/accounts/mfa/verify/", {"code": "000000"})
    locked = client.post("/accounts/mfa/verify/", {"code": code_for(secret)})
    assert b"Too many failed attempts" in locked.content
    assert not client.session.get(MFA_SESSION_KEY)
    assert AuditEvent.objects.filter(action="mfa.locked_out", actor=user).count() == 1
    assert AuditEvent.objects.filter(action="mfa.failed", actor=user).count() == 3

    elsewhere = Client(REMOTE_ADDR="198.51.100.4")
    password_step(elsewhere, "wendy")
    assert elsewhere.post("/accounts/mfa/verify/", {"code": code_for(secret)}).status_code == 302


@pytest.mark.django_db
def test_an_enrolled_person_cannot_reach_the_enrol_page_before_verifying():
    _user, _secret = make_enrolled_user("eva")
    client = Client()
    password_step(client, "eva")
    page = client.get("/accounts/mfa/enrol/")
    assert page["Location"] == "/accounts/mfa/verify/"
    posted = client.post("/accounts/mfa/enrol/", {"code": "123456"})
    assert posted["Location"] == "/accounts/mfa/verify/"


@pytest.mark.django_db
def test_each_privilege_step_gives_a_new_session_key():
    user, _secret = make_enrolled_user("kai")
    client = Client()
    client.get("/accounts/sign-in/")
    password_step(client, "kai")
    after_password = client.session.session_key
    client.post("/accounts/mfa/verify/", {"code": code_for(_secret)})
    after_mfa = client.session.session_key
    assert after_password != after_mfa
    assert user.tracked_sessions.get().session_key == after_mfa
