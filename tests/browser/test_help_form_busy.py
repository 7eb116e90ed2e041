"""A family whose answers arrive while the hotline's form is flooded loses nothing: the busy
page holds the answers, shows them again on request, and sends them when a place is free."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.utils import timezone
from playwright.sync_api import BrowserContext, expect

from amparo.hotline.intake_throttle import forget_refusals
from amparo.hotline.models import Case, IntakeBucket
from amparo.hotline.views import PUBLIC_FORM_BUCKET
from tests.browser.accessibility import axe_violations

pytestmark = pytest.mark.slow


def test_a_refused_family_sends_the_same_answers_again(
    new_context: Callable[[], BrowserContext], site: str, settings
) -> None:
    settings.INTAKE_BURST = 1
    settings.INTAKE_PER_SECOND = 0.001
    settings.AMPARO_HOTLINE_NUMBER = "+1 555 0199"
    forget_refusals()
    IntakeBucket.objects.create(name=PUBLIC_FORM_BUCKET, tokens=0, updated_at=timezone.now())

    page = new_context().new_page()
    page.goto(f"{site}/hotline/help/")
    with page.expect_navigation():
        page.click("button[name=switch_language][value=es]")
    page.fill("[name=caller_name]", "Rosa Hernández")
    page.fill("[name=caller_phone]", "+1 555 0100")
    page.fill("[name=legal_name]", "José Luis Hernández")
    page.fill("[name=a_number]", "A012-345-678")
    page.check("[name=needs_childcare]")
    with page.expect_navigation():
        page.click("#send-help")

    expect(page.locator("h1")).to_have_text("Demasiadas solicitudes en este momento")
    expect(page.locator("main")).to_contain_text("se guardan en esta página")
    expect(page.locator("a[href='tel:+15550199']")).to_have_text("+1 555 0199")
    expect(page.get_by_role("button", name="Enviar otra vez")).to_have_count(1)
    assert axe_violations(page) == []
    assert not Case.objects.exists()

    # Looking at the answers again brings them back into the form, sending nothing.
    with page.expect_navigation():
        page.click("button[name=switch_language]")
    expect(page.locator("[name=legal_name]")).to_have_value("José Luis Hernández")
    expect(page.locator("[name=needs_childcare]")).to_be_checked()
    with page.expect_navigation():
        page.click("#send-help")
    expect(page.locator("#send-again")).to_be_visible()

    IntakeBucket.objects.update(tokens=1)  # a place is free again
    forget_refusals()
    with page.expect_navigation():
        page.click("#send-again")
    assert page.url.endswith("/hotline/help/thanks/")
    expect(page.locator("html")).to_have_attribute("lang", "es")
    case = Case.objects.get()
    assert case.legal_name == "José Luis Hernández"
    assert case.intakes.get().needs_childcare is True
