"""Coordinator pages: only coordinators reach them, and they do what they say."""

from __future__ import annotations

import pytest
from django.test import Client

from amparo.accounts.models import PartnerOrganization, RecoveryCode, TOTPDevice
from amparo.accounts.roles import Role
from amparo.audit.models import AuditEvent
from tests.accounts.flows import make_enrolled_user, password_step, sign_in_fully

COORDINATOR_PAGES = [
    "/accounts/people/",
    "/accounts/people/invite/",
    "/accounts/invitations/",
    "/accounts/organizations/",
]


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.TRAINER, Role.OBSERVER, Role.HOTLINE, Role.ATTORNEY])
def test_other_roles_are_refused_coordinator_pages(role):
    user, _secret = make_enrolled_user(f"someone-{role.value}", role)
    client = Client()
    sign_in_fully(client, user)
    for path in COORDINATOR_PAGES:
        assert client.get(path).status_code == 403, path
    assert client.post(f"/accounts/people/{user.pk}/disable/").status_code == 403
    assert AuditEvent.objects.filter(action="access.refused", actor=user).count() == 5


@pytest.mark.django_db
def test_coordinator_pages_need_the_second_factor(coordinator):
    client = Client()
    password_step(client, coordinator.username)
    for path in COORDINATOR_PAGES:
        assert client.get(path)["Location"] == "/accounts/mfa/", path


@pytest.mark.django_db
def test_the_people_list_shows_role_organization_and_enrolment(coordinator_client):
    firm = PartnerOrganization.objects.create(name="Derechos Unidos")
    attorney, _secret = make_enrolled_user("lawyer", Role.ATTORNEY)
    attorney.organization = firm
    attorney.display_name = "Lía Abogada"
    attorney.save()
    page = coordinator_client.get("/accounts/people/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "Lía Abogada" in html
    assert "Derechos Unidos" in html
    assert "Attorney" in html
    detail = coordinator_client.get(f"/accounts/people/{attorney.pk}/")
    assert detail.status_code == 200
    assert b"End all their sessions" in detail.content


@pytest.mark.django_db
def test_resetting_mfa_makes_the_person_enrol_again(coordinator, coordinator_client):
    user, _secret = make_enrolled_user("lost-phone")
    client = Client()
    sign_in_fully(client, user)
    coordinator_client.post(f"/accounts/people/{user.pk}/reset-mfa/")
    assert not TOTPDevice.objects.filter(user=user).exists()
    assert not RecoveryCode.objects.filter(user=user).exists()
    assert client.get("/home/").status_code == 302
    again = Client()
    assert password_step(again, "lost-phone")["Location"] == "/accounts/mfa/"
    assert again.get("/accounts/mfa/")["Location"] == "/accounts/mfa/enrol/"
    assert AuditEvent.objects.filter(action="mfa.reset", actor=coordinator).exists()


@pytest.mark.django_db
def test_a_coordinator_cannot_disable_themselves(coordinator, coordinator_client):
    response = coordinator_client.post(f"/accounts/people/{coordinator.pk}/disable/", follow=True)
    assert b"cannot disable your own account" in response.content
    coordinator.refresh_from_db()
    assert coordinator.is_active


@pytest.mark.django_db
def test_organizations_are_listed_and_added(coordinator_client):
    response = coordinator_client.post("/accounts/organizations/", {"name": "Abogados del Pueblo"})
    assert response.status_code == 302
    assert PartnerOrganization.objects.filter(name="Abogados del Pueblo").exists()
    duplicate = coordinator_client.post("/accounts/organizations/", {"name": "abogados del pueblo"})
    assert duplicate.status_code == 200
    assert PartnerOrganization.objects.count() == 1
    assert b"Abogados del Pueblo" in coordinator_client.get("/accounts/organizations/").content


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "expected_link", "absent_link"),
    [
        (Role.COORDINATOR, b'href="/accounts/people/"', b""),
        (Role.OBSERVER, b'href="/accounts/account/"', b'href="/accounts/people/"'),
        (Role.ATTORNEY, b'href="/accounts/account/"', b'href="/accounts/people/"'),
    ],
)
def test_each_role_lands_on_its_own_home(role, expected_link, absent_link):
    user, _secret = make_enrolled_user(f"home-{role.value}", role)
    client = Client()
    sign_in_fully(client, user)
    page = client.get("/home/")
    assert page.status_code == 200
    assert expected_link in page.content
    if absent_link:
        assert absent_link not in page.content


@pytest.mark.django_db
def test_every_accounts_page_renders_for_a_coordinator(coordinator, coordinator_client):
    pages = [
        *COORDINATOR_PAGES,
        f"/accounts/people/{coordinator.pk}/",
        "/accounts/account/",
        "/accounts/account/password/",
        "/home/",
    ]
    for path in pages:
        response = coordinator_client.get(path)
        assert response.status_code == 200, path
        assert b"<h1>" in response.content, path
