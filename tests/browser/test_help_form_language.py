"""A family that starts the public form in one language and switches keeps what it typed."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, expect

from amparo.hotline.models import Case, IntakeBucket

pytestmark = pytest.mark.slow


def test_switching_language_keeps_the_answers_and_enter_still_sends(
    new_context: Callable[[], BrowserContext], site: str
) -> None:
    page = new_context().new_page()
    page.goto(f"{site}/hotline/help/")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    # The form's default button is for Enter only: one "Send" button shows, at the end.
    expect(page.locator("button[hidden]")).to_have_count(1)
    expect(page.locator("button[hidden]")).to_be_hidden()
    page.fill("[name=caller_name]", "Rosa Hernández")
    page.fill("[name=legal_name]", "José Luis Hernández")
    page.uncheck("[name=needs_legal]")
    page.check("[name=needs_childcare]")
    with page.expect_navigation():
        page.click("button[name=switch_language][value=es]")

    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.locator("h1")).not_to_have_text("I need help: someone has been detained")
    expect(page.locator("[name=caller_name]")).to_have_value("Rosa Hernández")
    expect(page.locator("[name=legal_name]")).to_have_value("José Luis Hernández")
    expect(page.locator("[name=needs_legal]")).not_to_be_checked()
    expect(page.locator("[name=needs_childcare]")).to_be_checked()
    assert not Case.objects.exists()
    assert not IntakeBucket.objects.exists()  # nothing was sent, not even a token spent

    # The language buttons come first in the form, but Enter in a field sends it.
    page.fill("[name=caller_phone]", "+1 555 0100")
    with page.expect_navigation():
        page.press("[name=caller_phone]", "Enter")
    assert page.url.endswith("/hotline/help/thanks/")
    expect(page.locator("html")).to_have_attribute("lang", "es")
    case = Case.objects.get()
    assert case.legal_name == "José Luis Hernández"
    assert case.intakes.get().needs_childcare is True
