"""Outside the access window nobody signs in, and open sessions end."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from amparo.accounts.models import User
from amparo.accounts.roles import Role
from tests.accounts.flows import make_enrolled_user, password_step, sign_in_fully


@pytest.mark.django_db
def test_sign_in_before_the_window_opens_is_refused_with_the_date():
    user, _secret = make_enrolled_user("hugo", Role.HOTLINE)
    user.access_starts_at = timezone.now() + timedelta(days=2)
    user.save()
    response = password_step(Client(), "hugo")
    assert response.status_code == 200
    assert b"has not started yet" in response.content
    assert user.access_starts_at.strftime("%Y-%m-%d").encode() in response.content


@pytest.mark.django_db
def test_sign_in_after_the_window_closes_is_refused():
    user, _secret = make_enrolled_user("hana", Role.HOTLINE)
    user.access_ends_at = timezone.now() - timedelta(minutes=1)
    user.save()
    response = password_step(Client(), "hana")
    assert response.status_code == 200
    assert b"Your access ended" in response.content


@pytest.mark.django_db
def test_inside_the_window_sign_in_works():
    user, _secret = make_enrolled_user("hilda", Role.HOTLINE)
    user.access_starts_at = timezone.now() - timedelta(hours=1)
    user.access_ends_at = timezone.now() + timedelta(hours=1)
    user.save()
    sign_in_fully(Client(), user)


@pytest.mark.django_db
def test_an_open_session_ends_when_the_window_closes():
    user, _secret = make_enrolled_user("hector", Role.HOTLINE)
    client = Client()
    sign_in_fully(client, user)
    assert client.get("/home/").status_code == 200
    User.objects.filter(pk=user.pk).update(access_ends_at=timezone.now())
    response = client.get("/home/")
    assert response.status_code == 302
    assert b"access period is closed" in client.get(response["Location"]).content


@pytest.mark.django_db
def test_a_coordinator_edits_the_window_and_a_closed_window_ends_sessions(coordinator_client):
    user, _secret = make_enrolled_user("helen", Role.HOTLINE)
    client = Client()
    sign_in_fully(client, user)
    past = timezone.now() - timedelta(days=1)
    response = coordinator_client.post(
        f"/accounts/people/{user.pk}/access-window/",
        {
            "access_starts_at": (past - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
            "access_ends_at": past.strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.access_ends_at is not None
    assert not user.tracked_sessions.exists()
    assert client.get("/home/").status_code == 302

    backwards = coordinator_client.post(
        f"/accounts/people/{user.pk}/access-window/",
        {"access_starts_at": "2030-01-02T00:00", "access_ends_at": "2030-01-01T00:00"},
    )
    assert backwards.status_code == 400
    assert b"must end after it starts" in backwards.content
