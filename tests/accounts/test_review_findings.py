"""Attacks found in a security review of accounts; each test failed before its fix."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from django.contrib.auth import authenticate
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpResponse
from django.test import Client, RequestFactory

from amparo.accounts import services
from amparo.accounts.models import Invitation, TOTPDevice, User
from amparo.accounts.roles import Role
from amparo.audit.models import AuditEvent
from tests.accounts.flows import (
    PASSWORD,
    SECRET_ON_PAGE,
    code_for,
    enrol_through_pages,
    make_enrolled_user,
    next_unused_code,
    password_step,
    sign_in_fully,
)

NEW_PASSWORD = "a different long passphrase 7"
ARABIC_INDIC_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


@pytest.mark.django_db
def test_a_code_typed_in_arabic_indic_digits_is_read_not_an_error():
    # Phones set to Arabic type Arabic-Indic digits; compare_digest raised a TypeError on them.
    user, _secret = make_enrolled_user("amal")
    client = Client()
    password_step(client, "amal")
    wrong = client.post("/accounts/mfa/verify/", {"code": "٠٠٠٠٠٠"})
    assert wrong.status_code == 200
    assert b"not right" in wrong.content
    right = next_unused_code(user).translate(ARABIC_INDIC_DIGITS)
    assert client.post("/accounts/mfa/verify/", {"code": right}).status_code == 302
    assert client.get("/home/").status_code == 200


@pytest.mark.django_db
def test_superscript_digits_are_refused_as_a_wrong_code():
    user, _secret = make_enrolled_user("sami")
    client = Client()
    password_step(client, "sami")
    response = client.post("/accounts/mfa/verify/", {"code": "¹²³⁴⁵⁶"})
    assert response.status_code == 200
    assert AuditEvent.objects.filter(action="mfa.failed", actor=user).count() == 1


@pytest.mark.django_db
def test_guessing_the_current_password_on_the_change_form_is_throttled(settings):
    # A stolen signed-in session must not give unlimited guesses at the password.
    user, _secret = make_enrolled_user("gus")
    client = Client(REMOTE_ADDR="192.0.2.9")
    sign_in_fully(client, user)
    for attempt in range(settings.LOGIN_FAILURE_LIMIT):
        client.post(
            "/accounts/account/password/",
            {
                "old_password": f"guess number {attempt}",
                "new_password1": NEW_PASSWORD,
                "new_password2": NEW_PASSWORD,
            },
        )
    response = client.post(
        "/accounts/account/password/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 200
    assert b"Too many failed attempts" in response.content
    assert User.objects.get(pk=user.pk).check_password(PASSWORD)
    failures = AuditEvent.objects.filter(action="account.password_change_failed", actor=user)
    assert failures.count() == settings.LOGIN_FAILURE_LIMIT
    # The same budget as sign-in: the password step from that address is locked too.
    sign_in_again = password_step(Client(REMOTE_ADDR="192.0.2.9"), "gus")
    assert b"Too many failed attempts" in sign_in_again.content


@pytest.mark.django_db
def test_an_enrolment_secret_seen_in_another_session_is_not_the_one_enrolled():
    # Someone holding only the password opens the enrol page first and copies the secret.
    user = User.objects.create_user(username="nina", password=PASSWORD, role=Role.OBSERVER)
    intruder = Client()
    password_step(intruder, "nina")
    seen = SECRET_ON_PAGE.search(intruder.get("/accounts/mfa/enrol/").content.decode())
    assert seen
    copied = seen.group(1).replace(" ", "")

    owner = Client()
    password_step(owner, "nina")
    secret, _codes = enrol_through_pages(owner)
    assert secret != copied
    assert TOTPDevice.objects.get(user=user).secret == secret

    # Later, the copied secret is no second factor for that account.
    later = Client()
    password_step(later, "nina")
    response = later.post("/accounts/mfa/verify/", {"code": code_for(copied, 1)})
    assert response.status_code == 200


@pytest.mark.django_db
def test_a_code_from_a_secret_shown_to_another_session_does_not_confirm_enrolment():
    User.objects.create_user(username="omar", password=PASSWORD, role=Role.OBSERVER)
    first, second = Client(), Client()
    password_step(first, "omar")
    shown = SECRET_ON_PAGE.search(first.get("/accounts/mfa/enrol/").content.decode())
    assert shown
    password_step(second, "omar")
    # The second session never loaded the page, so it has no secret of its own to confirm.
    code = code_for(shown.group(1).replace(" ", ""))
    assert second.post("/accounts/mfa/enrol/", {"code": code}).status_code == 200
    assert not services.has_confirmed_totp(User.objects.get(username="omar"))


@pytest.mark.django_db
def test_withdrawing_an_accepted_invitation_records_no_withdrawal(coordinator, coordinator_client):
    issued = services.invite(coordinator, Role.OBSERVER, display_name="Ada")
    services.accept_invitation(issued.token, "ada", PASSWORD)
    response = coordinator_client.post(f"/accounts/invitations/{issued.invitation.pk}/revoke/")
    assert response.status_code == 302
    assert Invitation.objects.get(pk=issued.invitation.pk).revoked_at is None
    assert not AuditEvent.objects.filter(action="invitation.revoked").exists()


@pytest.mark.django_db
def test_withdrawing_an_unknown_invitation_is_not_found(coordinator_client):
    assert coordinator_client.post("/accounts/invitations/999999/revoke/").status_code == 404


@pytest.mark.django_db
def test_the_page_asked_for_survives_sign_in_with_its_whole_query(coordinator):
    client = Client()
    asked = "/accounts/people/?a=1&b=2"
    redirected = client.get(asked)
    assert redirected.status_code == 302
    sign_in_page = client.get(redirected["Location"])
    assert sign_in_page.context["next"] == asked


@pytest.mark.django_db
@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/", "/\\evil.example/", "javascript:alert(1)"],
)
def test_sign_in_never_sends_a_person_to_another_site(target):
    user, _secret = make_enrolled_user("rita")
    client = Client()
    client.post("/accounts/sign-in/", {"username": "rita", "password": PASSWORD, "next": target})
    response = client.post("/accounts/mfa/verify/", {"code": next_unused_code(user)})
    assert response.status_code == 302
    assert response["Location"] == "/home/"


@pytest.mark.django_db
def test_attempts_arriving_while_a_password_is_being_checked_cannot_outrun_the_limit(
    settings, monkeypatch
):
    # Argon2 takes a while; requests that arrive meanwhile must already see earlier attempts.
    make_enrolled_user("vera")
    request_factory = RequestFactory()
    checked: list[str] = []

    def attempt() -> None:
        request = request_factory.post("/accounts/sign-in/", REMOTE_ADDR="192.0.2.50")
        SessionMiddleware(lambda r: HttpResponse()).process_request(request)
        with contextlib.suppress(services.SignInRefused):
            services.sign_in_with_password(request, "vera", "not her password")

    def slow_authenticate(request: Any, **credentials: str) -> Any:
        checked.append(credentials["username"])
        if len(checked) == 1:
            for _parallel in range(settings.LOGIN_FAILURE_LIMIT + 3):
                attempt()
        return authenticate(request, **credentials)

    monkeypatch.setattr("amparo.accounts.services.authenticate", slow_authenticate)
    attempt()
    assert len(checked) == settings.LOGIN_FAILURE_LIMIT
    assert AuditEvent.objects.filter(action="sign_in.failed").count() == len(checked)
    assert AuditEvent.objects.filter(action="sign_in.locked_out").count() == 1


@pytest.mark.django_db
def test_a_coordinator_cannot_close_their_own_access_window(coordinator, coordinator_client):
    # Like disabling oneself, which is refused: it would shut the last coordinator out.
    response = coordinator_client.post(
        f"/accounts/people/{coordinator.pk}/access-window/",
        {"access_starts_at": "2001-01-01T00:00", "access_ends_at": "2001-01-02T00:00"},
    )
    assert response.status_code == 400
    assert b"your own access" in response.content
    assert User.objects.get(pk=coordinator.pk).access_ends_at is None
    assert coordinator_client.get("/accounts/people/").status_code == 200


@pytest.mark.django_db
def test_a_coordinator_may_still_set_an_open_window_on_their_own_account(
    coordinator, coordinator_client
):
    response = coordinator_client.post(
        f"/accounts/people/{coordinator.pk}/access-window/",
        {"access_starts_at": "", "access_ends_at": "2999-01-01T00:00"},
    )
    assert response.status_code == 302
    assert coordinator_client.get("/accounts/people/").status_code == 200


@pytest.mark.django_db
def test_accepting_an_invitation_in_a_signed_in_browser_does_not_carry_the_second_factor(
    coordinator, coordinator_client
):
    issued = services.invite(coordinator, Role.COORDINATOR, display_name="Second")
    form = {"token": issued.token, "username": "second", "password": PASSWORD}
    form["password_again"] = PASSWORD
    response = coordinator_client.post("/accounts/invitation/", form)
    assert response["Location"] == "/accounts/mfa/enrol/"
    # The browser now belongs to the new account, which has not given a second factor.
    assert coordinator_client.get("/accounts/people/")["Location"] == "/accounts/mfa/"
    assert coordinator_client.get("/home/")["Location"] == "/accounts/mfa/"


@pytest.mark.django_db
def test_codes_guessed_from_many_addresses_pause_the_second_step(settings, monkeypatch):
    # Per-address limits alone let someone with the password guess codes from a botnet.
    settings.LOGIN_FAILURE_LIMIT = 3
    monkeypatch.setattr(services, "MFA_FAILURES_PER_ACCOUNT", 7)
    _user, secret = make_enrolled_user("bruno")
    for address in ("192.0.2.1", "192.0.2.2", "192.0.2.3"):
        guesser = Client(REMOTE_ADDR=address)
        password_step(guesser, "bruno")
        for _guess in range(3):
            guesser.post("/accounts/mfa/verify/", {"code": "000000"})
    fresh = Client(REMOTE_ADDR="198.51.100.20")
    password_step(fresh, "bruno")
    refused = fresh.post("/accounts/mfa/verify/", {"code": code_for(secret)})
    assert refused.status_code == 200
    assert b"Too many failed attempts" in refused.content
    assert AuditEvent.objects.filter(action="mfa.locked_out", detail="all").count() == 1
