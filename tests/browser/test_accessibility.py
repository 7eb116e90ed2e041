"""Every reachable page passes axe-core (WCAG 2.1 A and AA) in English and in Arabic,
and renders in English, Spanish and Arabic with the right language and direction and no
sideways scrolling.

Each page is also saved as a screenshot under test-artifacts/screenshots/ for a person to
look over, right-to-left layout above all.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import BrowserContext

from amparo.accounts.models import User
from amparo.accounts.roles import Role
from tests.browser.accessibility import axe_violations
from tests.browser.tour import (
    MFA_PENDING,
    become,
    choose_language,
    path_for,
    session_for,
    tour,
)

pytestmark = pytest.mark.browser

SKIPPED_STATUSES = {404, 405}
# Spanish shares English's direction and layout; axe runs where layout differs.
AXE_LANGUAGES = {"en", "ar"}
LANGUAGES = ["en", "es", "ar"]


def make_people() -> dict[str, User]:
    people = {
        str(role): User.objects.create_user(
            username=f"{role}-person", role=str(role), first_name=str(role.label)
        )
        for role in Role
    }
    people[MFA_PENDING] = User.objects.create_user(
        username="pending-person", role=str(Role.OBSERVER)
    )
    return people


def test_every_page_passes_axe_and_is_photographed(
    site: str,
    new_context: Callable[[], BrowserContext],
    artifacts: Path,
) -> None:
    people = make_people()
    record_id = people[str(Role.OBSERVER)].pk
    sessions = {
        visitor: session_for(person, mfa_done=visitor != MFA_PENDING)
        for visitor, person in people.items()
    }
    context = new_context()
    page = context.new_page()
    for language in LANGUAGES:
        (artifacts / "screenshots" / language).mkdir(parents=True, exist_ok=True)
        become(context, site, None, settings.LANGUAGE_CODE)
        page.goto("/")
        choose_language(page, language)
        chosen = {cookie["name"]: cookie["value"] for cookie in context.cookies()}
        assert chosen.get(settings.LANGUAGE_COOKIE_NAME) == language, "the language form failed"

    problems: list[str] = []
    visited: set[tuple[str, str, str]] = set()
    for stop in tour():
        path = path_for(stop.route, record_id)
        become(context, site, sessions.get(stop.visitor), settings.LANGUAGE_CODE)
        # Ask first: Chromium shows an error page for an empty 405 and then misbehaves.
        preflight = page.request.get(path, max_redirects=0)
        is_page = preflight.headers.get("content-type", "").startswith("text/html")
        if preflight.status in SKIPPED_STATUSES or not (is_page or 300 <= preflight.status < 400):
            continue
        for language in LANGUAGES:
            # One page throughout: a fresh page would compile axe-core all over again.
            become(context, site, sessions.get(stop.visitor), language)
            page.goto(path)
            final_path = page.url.removeprefix(site)
            if (stop.visitor, final_path, language) in visited:
                continue
            visited.add((stop.visitor, final_path, language))
            where = f"{final_path} as {stop.visitor} in {language}"

            html = page.locator("html")
            assert html.get_attribute("lang") == language, where
            assert html.get_attribute("dir") == ("rtl" if language == "ar" else "ltr"), where
            assert page.locator("#language-select").count() == 1, f"{where}: no language form"
            if language in AXE_LANGUAGES:
                problems.extend(f"{where}: {problem}" for problem in axe_violations(page))
            # A long line (a message's text, a code) must wrap, not push the page sideways.
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            if overflow > 0:
                problems.append(f"{where}: the page is {overflow}px wider than the window")
            name = f"{stop.visitor}-{(stop.route.name or 'page').replace(':', '-')}.png"
            page.screenshot(path=artifacts / "screenshots" / language / name, full_page=True)

    assert len(visited) >= 3 * (len(Role) + 2), f"the tour saw too few pages: {sorted(visited)}"
    assert not problems, "axe-core found:\n" + "\n".join(problems)
