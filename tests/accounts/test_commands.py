"""createcoordinator and loaddemo."""

from __future__ import annotations

from io import StringIO

import pyotp
import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from amparo.accounts.models import PartnerOrganization, TOTPDevice, User
from amparo.accounts.roles import Role
from tests.accounts.flows import PASSWORD, password_step


@pytest.mark.django_db
def test_createcoordinator_from_a_script_still_requires_enrolment(monkeypatch):
    monkeypatch.setenv("NEW_COORDINATOR_PASSWORD", PASSWORD)
    out = StringIO()
    call_command(
        "createcoordinator",
        "--username=carmen",
        "--password-from-env=NEW_COORDINATOR_PASSWORD",
        stdout=out,
    )
    assert "carmen" in out.getvalue()
    user = User.objects.get(username="carmen")
    assert user.role == Role.COORDINATOR
    assert not TOTPDevice.objects.filter(user=user).exists()
    client = Client()
    password_step(client, "carmen")
    assert client.get("/accounts/mfa/")["Location"] == "/accounts/mfa/enrol/"
    assert client.get("/accounts/people/")["Location"] == "/accounts/mfa/"
    out = StringIO()
    call_command("firstrun", stdout=out)
    assert out.getvalue() == ""


@pytest.mark.django_db
def test_createcoordinator_refuses_a_weak_or_missing_password(monkeypatch):
    monkeypatch.setenv("WEAK", "password")
    with pytest.raises(CommandError, match="Password refused"):
        call_command("createcoordinator", "--username=weak", "--password-from-env=WEAK")
    with pytest.raises(CommandError, match="UNSET_VARIABLE"):
        call_command("createcoordinator", "--username=weak", "--password-from-env=UNSET_VARIABLE")
    assert not User.objects.exists()


@pytest.mark.django_db
def test_loaddemo_is_refused_unless_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("loaddemo")
    assert not User.objects.exists()


@pytest.mark.django_db
def test_loaddemo_makes_enrolled_accounts_that_sign_in(settings):
    settings.DEBUG = True
    out = StringIO()
    call_command("loaddemo", stdout=out)
    text = out.getvalue()
    assert "demo only" in text.lower()
    assert set(User.objects.values_list("role", flat=True)) == set(Role.values)
    assert PartnerOrganization.objects.filter(members__role=Role.ATTORNEY).exists()
    line = next(line for line in text.splitlines() if "username=demo-observer" in line)
    fields = dict(part.split("=", 1) for part in line.split() if "=" in part)
    client = Client()
    assert password_step(client, fields["username"], fields["password"]).status_code == 302
    code = pyotp.TOTP(fields["totp_secret"]).now()
    assert client.post("/accounts/mfa/verify/", {"code": code})["Location"] == "/home/"
