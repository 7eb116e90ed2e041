"""The account page: change password, new recovery codes."""

from __future__ import annotations

import pytest
from django.test import Client

from amparo.accounts.models import User
from amparo.audit.models import AuditEvent
from tests.accounts.flows import (
    PASSWORD,
    RECOVERY_ON_PAGE,
    forget_used_steps,
    make_enrolled_user,
    sign_in_fully,
)

NEW_PASSWORD = "a different long passphrase 7"


@pytest.mark.django_db
def test_changing_the_password_keeps_this_session_and_ends_others():
    user, _secret = make_enrolled_user("paz")
    laptop, phone = Client(), Client()
    sign_in_fully(laptop, user)
    forget_used_steps(user)
    sign_in_fully(phone, user)
    response = laptop.post(
        "/accounts/account/password/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert laptop.get("/home/").status_code == 200
    assert phone.get("/home/").status_code == 302
    assert User.objects.get(pk=user.pk).check_password(NEW_PASSWORD)
    assert AuditEvent.objects.filter(action="account.password_changed").exists()


@pytest.mark.django_db
def test_a_wrong_old_password_changes_nothing():
    user, _secret = make_enrolled_user("paco")
    client = Client()
    sign_in_fully(client, user)
    response = client.post(
        "/accounts/account/password/",
        {"old_password": "wrong", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 200
    assert User.objects.get(pk=user.pk).check_password(PASSWORD)


@pytest.mark.django_db
def test_new_recovery_codes_are_shown_once_and_replace_the_old():
    user, _secret = make_enrolled_user("remedios")
    client = Client()
    sign_in_fully(client, user)
    assert client.get("/accounts/recovery-codes/").status_code in {404, 405}
    response = client.post("/accounts/account/recovery-codes/")
    codes = RECOVERY_ON_PAGE.findall(response.content.decode())
    assert len(codes) == 10
    assert b"10 unused recovery codes" in client.get("/accounts/account/").content
    again = client.post("/accounts/account/recovery-codes/")
    assert not set(codes) & set(RECOVERY_ON_PAGE.findall(again.content.decode()))
