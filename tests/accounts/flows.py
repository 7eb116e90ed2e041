"""Steps a person takes through the real pages, shared by the accounts tests."""

from __future__ import annotations

import re
import time
from typing import Any

import pyotp
from django.test import Client

from amparo.accounts import services
from amparo.accounts.models import TOTPDevice, User
from amparo.accounts.roles import Role

PASSWORD = "correct horse battery staple 42"
SECRET_ON_PAGE = re.compile(r'id="totp-secret">([A-Z2-7 ]+)<')
RECOVERY_ON_PAGE = re.compile(r"<li><code>([a-z0-9-]{19})</code></li>")


def code_for(secret: str, step_offset: int = 0) -> str:
    return str(pyotp.TOTP(secret).at(time.time() + 30 * step_offset))


def next_unused_code(user: User) -> str:
    """A code for the step after the last one accepted, which the server still accepts."""
    device = TOTPDevice.objects.get(user=user)
    current = int(time.time() // 30)
    step = max(current, device.last_used_step + 1)
    assert step <= current + 1, "two codes already used this half-minute"
    return str(pyotp.TOTP(device.secret).at(step * 30))


def forget_used_steps(user: User) -> None:
    """As if a minute had passed since the last code: lets a test sign in again at once."""
    TOTPDevice.objects.filter(user=user).update(last_used_step=-1)


def password_step(client: Client, username: str, password: str = PASSWORD, **extra: Any):
    return client.post("/accounts/sign-in/", {"username": username, "password": password}, **extra)


def enrol_through_pages(client: Client) -> tuple[str, list[str]]:
    """Read the secret off the enrol page, confirm a code, return (secret, recovery codes)."""
    page = client.get("/accounts/mfa/enrol/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'src="data:image/svg+xml' in html  # the QR code, inline, no script
    found = SECRET_ON_PAGE.search(html)
    assert found, "the enrol page shows the secret for manual entry"
    secret = found.group(1).replace(" ", "")
    confirmed = client.post("/accounts/mfa/enrol/", {"code": code_for(secret)})
    assert confirmed.status_code == 200
    codes = RECOVERY_ON_PAGE.findall(confirmed.content.decode())
    assert len(codes) == services.RECOVERY_CODE_COUNT
    return secret, codes


def make_enrolled_user(
    username: str, role: Role = Role.OBSERVER, password: str = PASSWORD
) -> tuple[User, str]:
    """An account that has already set up TOTP (made through services, not pages)."""
    user = User.objects.create_user(username=username, password=password, role=role)
    device = services.start_enrolment(user)
    device.confirmed_at = device.created_at
    device.save()
    return user, device.secret


def sign_in_fully(client: Client, user: User, password: str = PASSWORD, **extra: Any) -> None:
    response = password_step(client, user.username, password, **extra)
    assert response.status_code == 302, response.content.decode()[:2000]
    response = client.post("/accounts/mfa/verify/", {"code": next_unused_code(user)}, **extra)
    assert response.status_code == 302, response.content.decode()[:2000]
