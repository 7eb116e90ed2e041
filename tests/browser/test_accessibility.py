"""Every reachable page passes axe-core (WCAG 2.1 A and AA) in English and in Arabic.

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


@pytest.mark.parametrize("language", ["en", "es", "ar"])
def test_every_page_passes_axe_and_is_photographed(
    language: str,
    site: str,
    new_context: Callable[[], BrowserContext],
    artifacts: Path,
) -> None:
    people = make_people()
    record_id = people[str(Role.OBSERVER)].pk
    shots = artifacts / "screenshots" / language
    shots.mkdir(parents=True, exist_ok=True)
    sessions = {
        visitor: session_for(person, mfa_done=visitor != MFA_PENDING)
        for visitor, person in people.items()
    }
    problems: list[str] = []
    visited: set[tuple[str, str]] = set()
    context = new_context()
    page = context.new_page()
    page.goto("/")
    choose_language(page, language)
    chosen = {cookie["name"]: cookie["value"] for cookie in context.cookies()}
    assert chosen.get(settings.LANGUAGE_COOKIE_NAME) == language, "the language form did not work"

    for stop in tour():
        become(context, site, sessions.get(stop.visitor), language)
        path = path_for(stop.route, record_id)
        # Ask first: Chromium shows an error page for an empty 405 and then misbehaves.
        preflight = page.request.get(path, max_redirects=0)
        is_page = preflight.headers.get("content-type", "").startswith("text/html")
        if preflight.status in SKIPPED_STATUSES or not (is_page or 300 <= preflight.status < 400):
            continue
        page.goto(path)
        final_path = page.url.removeprefix(site)
        if (stop.visitor, final_path) in visited:
            continue
        visited.add((stop.visitor, final_path))
        where = f"{final_path} as {stop.visitor} in {language}"

        html = page.locator("html")
        assert html.get_attribute("lang") == language, where
        assert html.get_attribute("dir") == ("rtl" if language == "ar" else "ltr"), where
        if language in AXE_LANGUAGES:
            problems.extend(f"{where}: {problem}" for problem in axe_violations(page))
        name = f"{stop.visitor}-{(stop.route.name or 'page').replace(':', '-')}.png"
        page.screenshot(path=shots / name, full_page=True)

    assert len(visited) >= len(Role) + 2, f"the tour saw too few pages: {sorted(visited)}"
    assert not problems, "axe-core found:\n" + "\n".join(problems)
