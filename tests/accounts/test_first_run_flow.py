"""The whole path: first-run link → coordinator → invitation → observer signs in again."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from amparo.accounts.models import Invitation, RecoveryCode, TOTPDevice, User
from amparo.audit.models import AuditEvent
from amparo.web.policy import MFA_SESSION_KEY
from tests.accounts.flows import (
    PASSWORD,
    code_for,
    enrol_through_pages,
    next_unused_code,
    password_step,
)

LINK = re.compile(r"http://127\.0\.0\.1:8000(/accounts/invitation/[^/\s]+/)")


def run_firstrun() -> str:
    out = StringIO()
    call_command("firstrun", stdout=out)
    return out.getvalue()


def accept(client: Client, path: str, username: str) -> None:
    page = client.get(path)
    assert page.status_code == 200
    token = path.rstrip("/").rsplit("/", 1)[1]
    # The form posts the token in its body, to a path without it.
    assert f'value="{token}"' in page.content.decode()
    assert 'action="/accounts/invitation/"' in page.content.decode()
    response = client.post(
        "/accounts/invitation/",
        {"token": token, "username": username, "password": PASSWORD, "password_again": PASSWORD},
    )
    assert response.status_code == 302
    assert response["Location"] == "/accounts/mfa/enrol/"


@pytest.mark.django_db
def test_first_coordinator_invites_an_observer_who_signs_in_again_with_totp():
    output = run_firstrun()
    assert output.startswith("Open this link to create the first coordinator account: ")
    first_link = LINK.search(output)
    assert first_link

    coordinator_client = Client()
    accept(coordinator_client, first_link.group(1), "coral")
    # Before enrolling, the second factor is still pending: home sends them to the MFA step.
    assert coordinator_client.get("/home/")["Location"] == "/accounts/mfa/"
    _secret, codes = enrol_through_pages(coordinator_client)
    assert len(set(codes)) == 10
    assert coordinator_client.session[MFA_SESSION_KEY] is True
    coordinator = User.objects.get(username="coral")
    assert coordinator.role == "coordinator"
    assert coordinator.password.startswith("argon2$argon2id$")
    assert RecoveryCode.objects.filter(user=coordinator).count() == 10
    assert run_firstrun() == "", "firstrun stays silent once a coordinator exists"

    home = coordinator_client.get("/home/")
    assert home.status_code == 200
    assert b'href="/accounts/people/"' in home.content

    invited = coordinator_client.post(
        "/accounts/people/invite/", {"display_name": "Olga Ortiz", "role": "observer"}
    )
    assert invited.status_code == 200
    observer_link = LINK.search(invited.content.decode())
    assert observer_link
    token = observer_link.group(1).rstrip("/").rsplit("/", 1)[1]
    stored = Invitation.objects.get(display_name="Olga Ortiz")
    assert token not in stored.token_hash, "only the hash of the token is stored"
    assert len(stored.token_hash) == 64

    observer_client = Client()
    accept(observer_client, observer_link.group(1), "olga")
    secret, _codes = enrol_through_pages(observer_client)
    assert observer_client.get("/home/").status_code == 200

    signed_out = observer_client.post("/accounts/sign-out/")
    assert signed_out.status_code == 302
    assert observer_client.get("/home/").status_code == 302

    observer = User.objects.get(username="olga")
    assert password_step(observer_client, "olga")["Location"] == "/accounts/mfa/"
    assert observer_client.get("/accounts/mfa/")["Location"] == "/accounts/mfa/verify/"
    # The enrolment code's step was used; the same code now would be a replay.
    assert TOTPDevice.objects.get(user=observer).last_used_step >= 0
    verified = observer_client.post("/accounts/mfa/verify/", {"code": next_unused_code(observer)})
    assert verified.status_code == 302
    assert verified["Location"] == "/home/"
    assert observer_client.get("/home/").status_code == 200
    assert code_for(secret)  # the secret read off the page is the device's secret
    assert TOTPDevice.objects.get(user=observer).secret == secret

    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {
        "invitation.created",
        "invitation.accepted",
        "mfa.enrolled",
        "mfa.succeeded",
        "sign_in.succeeded",
        "sign_out",
    } <= actions


@pytest.mark.django_db
def test_a_second_firstrun_replaces_the_unused_link():
    first = LINK.search(run_firstrun())
    second = LINK.search(run_firstrun())
    assert first
    assert second
    assert first.group(1) != second.group(1)
    assert Client().get(first.group(1)).status_code == 410
    assert Client().get(second.group(1)).status_code == 200


@pytest.mark.django_db
def test_sign_out_needs_post():
    client = Client()
    assert client.get("/accounts/sign-out/").status_code in {302, 405}


@pytest.fixture(autouse=True)
def fast_password_hasher() -> None:
    """This module keeps the real Argon2id hasher from settings."""
