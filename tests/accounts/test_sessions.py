"""Sessions end on idle, at their absolute lifetime, on disabling, and when a coordinator says."""

from __future__ import annotations

import time

import pytest
from django.contrib.sessions.models import Session
from django.test import Client

from amparo.accounts import services
from amparo.accounts.middleware import SEEN_KEY, STARTED_KEY
from amparo.accounts.models import UserSession
from amparo.accounts.roles import Role
from amparo.audit.models import AuditEvent
from tests.accounts.flows import forget_used_steps, make_enrolled_user, sign_in_fully


def shift_session(client: Client, **seconds_ago: int) -> None:
    session = client.session
    now = int(time.time())
    if "started" in seconds_ago:
        session[STARTED_KEY] = now - seconds_ago["started"]
    if "seen" in seconds_ago:
        session[SEEN_KEY] = now - seconds_ago["seen"]
    session.save()


@pytest.fixture
def observer_client(db):
    user, _secret = make_enrolled_user("ines")
    client = Client()
    sign_in_fully(client, user)
    return user, client


def test_an_idle_session_ends(observer_client, settings):
    _user, client = observer_client
    shift_session(client, seen=settings.SESSION_IDLE_SECONDS - 90)
    assert client.get("/home/").status_code == 200
    shift_session(client, seen=settings.SESSION_IDLE_SECONDS + 1)
    response = client.get("/home/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/sign-in/")
    page = client.get(response["Location"])
    assert b"without activity" in page.content


def test_activity_moves_the_idle_clock(observer_client, settings):
    _user, client = observer_client
    shift_session(client, seen=settings.SESSION_IDLE_SECONDS - 5)
    assert client.get("/home/").status_code == 200
    assert int(client.session[SEEN_KEY]) >= int(time.time()) - 5


def test_a_busy_session_still_ends_at_its_absolute_lifetime(observer_client, settings):
    _user, client = observer_client
    shift_session(client, started=settings.SESSION_ABSOLUTE_SECONDS + 1, seen=0)
    response = client.get("/home/")
    assert response.status_code == 302
    assert b"time limit" in client.get(response["Location"]).content


def test_sign_out_deletes_the_server_side_session(observer_client):
    user, client = observer_client
    key = client.session.session_key
    assert client.get("/accounts/sign-out/").status_code == 405
    assert Session.objects.filter(session_key=key).exists()
    client.post("/accounts/sign-out/")
    assert not Session.objects.filter(session_key=key).exists()
    assert not UserSession.objects.filter(user=user).exists()


def test_a_coordinator_ends_all_of_one_persons_sessions(observer_client, coordinator_client):
    user, client = observer_client
    forget_used_steps(user)
    phone = Client()
    sign_in_fully(phone, user)
    assert UserSession.objects.filter(user=user).count() == 2
    response = coordinator_client.post(f"/accounts/people/{user.pk}/end-sessions/")
    assert response.status_code == 302
    assert client.get("/home/").status_code == 302
    assert phone.get("/home/").status_code == 302
    assert not UserSession.objects.filter(user=user).exists()
    assert coordinator_client.get("/home/").status_code == 200
    assert AuditEvent.objects.filter(action="sessions.ended", target=f"user:{user.pk}").exists()


def test_disabling_an_account_ends_its_sessions_and_refuses_sign_in(
    observer_client, coordinator, coordinator_client
):
    user, client = observer_client
    key = client.session.session_key
    coordinator_client.post(f"/accounts/people/{user.pk}/disable/")
    user.refresh_from_db()
    assert not user.is_active
    assert not Session.objects.filter(session_key=key).exists()
    assert client.get("/home/").status_code == 302
    forget_used_steps(user)
    again = Client()
    refused = again.post("/accounts/sign-in/", {"username": "ines", "password": "x" * 20})
    assert refused.status_code == 200
    assert AuditEvent.objects.filter(action="account.disabled", actor=coordinator).exists()

    coordinator_client.post(f"/accounts/people/{user.pk}/enable/")
    sign_in_fully(Client(), user)


def test_a_session_of_a_disabled_account_is_dropped_even_if_it_survived(observer_client):
    user, client = observer_client
    key = client.session.session_key
    type(user).objects.filter(pk=user.pk).update(is_active=False)  # not through the service
    assert client.get("/home/").status_code == 302
    assert not Session.objects.filter(session_key=key).exists()


def test_people_see_and_end_their_own_sessions(observer_client):
    user, laptop = observer_client
    forget_used_steps(user)
    phone = Client()
    sign_in_fully(phone, user)
    page = laptop.get("/accounts/account/")
    assert page.status_code == 200
    assert page.content.count(b"/end/") == 2
    phone_session = UserSession.objects.get(session_key=phone.session.session_key)
    laptop.post(f"/accounts/account/sessions/{phone_session.pk}/end/")
    assert phone.get("/home/").status_code == 302
    assert laptop.get("/home/").status_code == 200
    own = UserSession.objects.get(session_key=laptop.session.session_key)
    laptop.post(f"/accounts/account/sessions/{own.pk}/end/")
    assert laptop.get("/home/").status_code == 302


def test_ending_someone_elses_session_by_id_does_nothing(observer_client):
    _user, client = observer_client
    other, _secret = make_enrolled_user("zoe", Role.TRAINER)
    other_client = Client()
    sign_in_fully(other_client, other)
    theirs = UserSession.objects.get(user=other)
    client.post(f"/accounts/account/sessions/{theirs.pk}/end/")
    assert other_client.get("/home/").status_code == 200


def test_end_sessions_service_keeps_the_given_key(observer_client):
    user, client = observer_client
    forget_used_steps(user)
    phone = Client()
    sign_in_fully(phone, user)
    assert services.end_sessions(user, keep_key=client.session.session_key) == 1
    assert client.get("/home/").status_code == 200
    assert phone.get("/home/").status_code == 302
