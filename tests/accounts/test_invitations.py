"""Invitation links are single-use, expire, can be withdrawn, and enforce password rules."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from amparo.accounts import services
from amparo.accounts.models import Invitation, PartnerOrganization, User
from amparo.accounts.roles import Role
from tests.accounts.flows import PASSWORD


def accept_form(token: str, username: str, password: str = PASSWORD) -> dict[str, str]:
    return {"token": token, "username": username, "password": password, "password_again": password}


@pytest.mark.django_db
def test_an_invitation_works_once(coordinator):
    issued = services.invite(coordinator, Role.TRAINER, display_name="Tere")
    first = Client().post("/accounts/invitation/", accept_form(issued.token, "tere"))
    assert first.status_code == 302
    second = Client().post("/accounts/invitation/", accept_form(issued.token, "tere2"))
    assert second.status_code == 410
    assert b"already been used" in second.content
    assert Client().get(f"/accounts/invitation/{issued.token}/").status_code == 410
    assert not User.objects.filter(username="tere2").exists()
    with pytest.raises(services.InvitationUnusable):
        services.accept_invitation(issued.token, "tere3", PASSWORD)


@pytest.mark.django_db
def test_an_expired_invitation_is_refused(coordinator, settings):
    issued = services.invite(coordinator, Role.OBSERVER, display_name="Eli")
    assert issued.invitation.expires_at - issued.invitation.created_at == timedelta(
        seconds=settings.INVITATION_LIFETIME_SECONDS
    )
    Invitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    page = Client().get(f"/accounts/invitation/{issued.token}/")
    assert page.status_code == 410
    assert b"expired" in page.content
    posted = Client().post("/accounts/invitation/", accept_form(issued.token, "eli"))
    assert posted.status_code == 410
    assert not User.objects.filter(username="eli").exists()


@pytest.mark.django_db
def test_a_withdrawn_invitation_is_refused(coordinator, coordinator_client):
    issued = services.invite(coordinator, Role.OBSERVER, display_name="Wes")
    listed = coordinator_client.get("/accounts/invitations/")
    assert b"Wes" in listed.content
    coordinator_client.post(f"/accounts/invitations/{issued.invitation.pk}/revoke/")
    assert Client().get(f"/accounts/invitation/{issued.token}/").status_code == 410
    assert b"Wes" not in coordinator_client.get("/accounts/invitations/").content


@pytest.mark.django_db
def test_unknown_tokens_are_refused():
    assert Client().get("/accounts/invitation/not-a-real-token/").status_code == 410
    response = Client().post("/accounts/invitation/", accept_form("nope", "nobody"))
    assert response.status_code == 410


@pytest.mark.django_db
def test_common_and_short_passwords_are_refused_and_the_link_stays_usable(coordinator):
    issued = services.invite(coordinator, Role.OBSERVER, display_name="Pat")
    common = Client().post(
        "/accounts/invitation/", accept_form(issued.token, "pat", "password1234")
    )
    assert common.status_code == 200
    assert b"too common" in common.content
    short = Client().post("/accounts/invitation/", accept_form(issued.token, "pat", "sh0rt!"))
    assert b"too short" in short.content
    with pytest.raises(ValidationError):
        services.accept_invitation(issued.token, "pat", "123456789012345")
    assert Client().get(f"/accounts/invitation/{issued.token}/").status_code == 200


@pytest.mark.django_db
def test_a_taken_username_is_refused(coordinator):
    issued = services.invite(coordinator, Role.OBSERVER, display_name="Dup")
    response = Client().post("/accounts/invitation/", accept_form(issued.token, "CORAL"))
    assert response.status_code == 200
    assert b"username is taken" in response.content


@pytest.mark.django_db
def test_the_account_takes_role_organization_and_window_from_the_invitation(coordinator):
    firm = PartnerOrganization.objects.create(name="Centro Legal")
    ends = timezone.now() + timedelta(days=30)
    issued = services.invite(
        coordinator,
        Role.ATTORNEY,
        email="abogada@example.org",
        organization=firm,
        access_ends_at=ends,
    )
    user = services.accept_invitation(issued.token, "abogada", PASSWORD)
    assert user.role == Role.ATTORNEY
    assert user.organization == firm
    assert user.access_ends_at == ends
    assert user.email == "abogada@example.org"


@pytest.mark.django_db
def test_the_first_run_link_stops_working_once_a_coordinator_exists():
    issued = services.issue_bootstrap_invitation()
    assert issued is not None
    services.create_coordinator("cli-coordinator", PASSWORD)
    assert services.issue_bootstrap_invitation() is None
    assert Client().get(f"/accounts/invitation/{issued.token}/").status_code == 410


@pytest.mark.django_db
def test_the_invite_form_needs_a_name_or_an_email(coordinator_client):
    response = coordinator_client.post("/accounts/people/invite/", {"role": "observer"})
    assert response.status_code == 200
    assert b"Give a name or an email address" in response.content
    assert not Invitation.objects.exists()
