"""On a small phone, in Chromium: the family changes its language, and the alerts page shows
each message's state (one to be tried again) in English and in Arabic, passing axe-core."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, expect

from amparo.preparedness.alerts import activate_plan
from amparo.preparedness.models import ActivationSource, FamilyAccount
from tests.browser.accessibility import axe_violations
from tests.preparedness.conftest import fill_plan, make_family
from tests.preparedness.test_alert_retries import PASSPHRASE, MoodyServer, moody_server

__all__ = ["moody_server"]

pytestmark = pytest.mark.browser


def test_language_and_alert_states_on_a_small_phone(
    new_context: Callable[[], BrowserContext],
    moody_server: MoodyServer,
    artifacts: Path,
) -> None:
    account = make_family(language="en")
    plan = fill_plan(account.plan)
    moody_server.refuse = 1
    outcome = activate_plan(plan, ActivationSource.FAMILY)
    assert (outcome.sent, outcome.retrying) == (1, 1)

    page = new_context().new_page()
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto("/family/sign-in/")
    page.fill("[name=username]", "rivera")
    page.fill("[name=passphrase]", PASSPHRASE)
    page.locator("main form button[type=submit]").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")

    page.goto("/family/plan/alerts/")
    expect(page.locator("main")).to_contain_text("Not sent yet, will be tried again")
    expect(page.locator("main")).to_contain_text("Tried 1 time;")
    assert axe_violations(page) == []

    page.goto("/family/language/")
    assert axe_violations(page) == []
    page.select_option("#id_language", "ar")
    page.locator("form:has(#id_language) button[type=submit]").click()
    expect(page.locator("html")).to_have_attribute("lang", "ar")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    assert FamilyAccount.objects.get(pk=account.pk).language == "ar"

    page.goto("/family/plan/alerts/")
    assert axe_violations(page) == []
    page.screenshot(path=str(artifacts / "family-alert-states-ar.png"), full_page=True)
    # Nothing on the page is wider than the phone.
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
