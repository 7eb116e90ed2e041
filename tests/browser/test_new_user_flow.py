"""The first coordinator and the first observer, through the real pages in real Chromium.

The one-time link from `amparo firstrun` → the coordinator chooses a password, enrols an
authenticator, saves recovery codes, invites an observer → the observer accepts, enrols,
signs out, and signs in again with password and code, all in Arabic. axe-core checks each
page on the way, including the ones only a secret link reaches.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from io import StringIO
from pathlib import Path
from urllib.parse import urlsplit

import pyotp
import pytest
from django.core.management import call_command
from django.utils import translation
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.accessibility import axe_violations
from tests.browser.tour import choose_language

pytestmark = pytest.mark.browser

PASSWORD = "a long walk to the river at dawn"


class Walk:
    """One person's browser, in one language, checking every page it lands on."""

    def __init__(self, page: Page, who: str, shots: Path, language: str = "en") -> None:
        self.page = page
        self.who = who
        self.shots = shots
        self.language = language
        self.problems: list[str] = []
        self.step = 0

    def text(self, message: str) -> str:
        """What the page says for this English message in this walk's language."""
        with translation.override(self.language):
            return translation.gettext(message)

    def expect_heading(self, message: str) -> None:
        expect(self.page.locator("h1")).to_have_text(self.text(message))

    def check(self, label: str) -> None:
        self.step += 1
        where = f"{self.who} at {urlsplit(self.page.url).path} ({label}, {self.language})"
        html = self.page.locator("html")
        assert html.get_attribute("lang") == self.language, where
        assert html.get_attribute("dir") == ("rtl" if self.language == "ar" else "ltr"), where
        self.problems.extend(f"{where}: {problem}" for problem in axe_violations(self.page))
        self.page.screenshot(path=self.shots / f"{self.who}-{self.step:02d}-{label}.png")


def one_time_link() -> str:
    out = StringIO()
    call_command("firstrun", stdout=out)
    found = re.search(r"https?://\S+", out.getvalue())
    assert found, f"firstrun printed no link: {out.getvalue()!r}"
    return urlsplit(found.group(0)).path


class Authenticator:
    """The phone app: reads the key off the enrol page and never repeats a used code."""

    def __init__(self, secret: str) -> None:
        self.totp = pyotp.TOTP(secret.replace(" ", ""))
        self.last_step = -1

    def code(self) -> str:
        step = max(int(time.time() // 30), self.last_step + 1)
        self.last_step = step
        return str(self.totp.at(step * 30))


def create_account(walk: Walk, username: str) -> None:
    page = walk.page
    walk.expect_heading("Create your account")
    walk.check("accept-invitation")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.fill("#id_password_again", PASSWORD)
    page.click("main button[type=submit]")


def enrol(walk: Walk) -> Authenticator:
    page = walk.page
    walk.expect_heading("Set up your authenticator")
    walk.check("enrol")
    phone = Authenticator(page.locator("#totp-secret").inner_text())
    page.fill("#id_code", phone.code())
    page.click("main button[type=submit]")
    walk.expect_heading("Your recovery codes")
    walk.check("recovery-codes")
    codes = page.locator("ol.recovery-codes code").all_inner_texts()
    assert len(codes) >= 8, codes
    assert len(set(codes)) == len(codes), codes
    page.click(f"text={walk.text('I have saved my codes; continue')}")
    return phone


def test_first_coordinator_invites_an_observer_who_signs_in_again(
    site: str, new_context: Callable[[], BrowserContext], artifacts: Path
) -> None:
    shots = artifacts / "screenshots" / "new-user-flow"
    shots.mkdir(parents=True, exist_ok=True)

    coordinator = Walk(new_context().new_page(), "coordinator", shots)
    coordinator.page.goto(one_time_link())
    create_account(coordinator, "rosa")
    enrol(coordinator)
    expect(coordinator.page).to_have_url(f"{site}/home/")
    expect(coordinator.page.locator(".role-badge")).to_contain_text("Coordinator")
    coordinator.check("home")

    coordinator.page.goto("/accounts/people/invite/")
    coordinator.check("invite")
    coordinator.page.fill("#id_display_name", "Samir Haddad")
    coordinator.page.select_option("#id_role", "observer")
    coordinator.page.click("main button[type=submit]")
    coordinator.expect_heading("Invitation created")
    coordinator.check("invitation-created")
    link = coordinator.page.locator("#invitation-link").inner_text().strip()

    # The observer reads Arabic: the whole second half runs right to left.
    observer = Walk(new_context().new_page(), "observer", shots, language="ar")
    observer.page.goto(urlsplit(link).path)
    choose_language(observer.page, "ar")
    create_account(observer, "samir")
    phone = enrol(observer)
    expect(observer.page).to_have_url(f"{site}/home/")

    observer.page.click(f"nav >> text={observer.text('Sign out')}")
    observer.expect_heading("Sign in")
    observer.check("sign-in")
    observer.page.fill("#id_username", "samir")
    observer.page.fill("#id_password", PASSWORD)
    observer.page.click("main button[type=submit]")
    observer.expect_heading("Second step")
    observer.check("verify")
    observer.page.fill("#id_code", phone.code())
    observer.page.click("main form button[type=submit] >> nth=0")

    expect(observer.page).to_have_url(f"{site}/home/")
    expect(observer.page.locator(".role-badge")).to_contain_text(observer.text("Observer"))
    observer.check("home")
    problems = coordinator.problems + observer.problems
    assert not problems, "axe-core found:\n" + "\n".join(problems)
