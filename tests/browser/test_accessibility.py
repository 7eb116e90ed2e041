"""Every reachable page passes axe-core (WCAG 2.1 A and AA) in English, Spanish and Arabic.

Each page is also saved as a screenshot under test-artifacts/screenshots/ for a person to
look over, right-to-left layout above all.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page
from playwright.sync_api import Error as PlaywrightError

from amparo.accounts.models import User
from amparo.accounts.roles import Role
from tests.browser.accessibility import axe_violations
from tests.browser.tour import (
    ANONYMOUS,
    MFA_PENDING,
    choose_language,
    path_for,
    sign_in_context,
    tour,
)

pytestmark = pytest.mark.browser

SKIPPED_STATUSES = {404, 405}


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
    pages: dict[str, Page] = {}
    problems: list[str] = []
    visited: set[tuple[str, str]] = set()

    for stop in tour():
        # One page per visitor: a fresh page would compile axe-core all over again.
        page = pages.get(stop.visitor)
        if page is None:
            context = new_context()
            if stop.visitor != ANONYMOUS:
                mfa_done = stop.visitor != MFA_PENDING
                sign_in_context(context, site, people[stop.visitor], mfa_done=mfa_done)
            page = pages[stop.visitor] = context.new_page()
            page.goto("/")
            choose_language(page, language)
        try:
            response = page.goto(path_for(stop.route, record_id))
        except PlaywrightError as error:
            # Chromium shows no page for an empty error answer (405 to a GET on a form action).
            if "ERR_HTTP_RESPONSE_CODE_FAILURE" not in str(error):
                raise
            continue
        assert response is not None
        content_type = response.headers.get("content-type", "")
        final_path = page.url.removeprefix(site)
        if response.status in SKIPPED_STATUSES or not content_type.startswith("text/html"):
            continue
        if (stop.visitor, final_path) in visited:
            continue
        visited.add((stop.visitor, final_path))
        where = f"{final_path} as {stop.visitor} in {language}"

        html = page.locator("html")
        assert html.get_attribute("lang") == language, where
        assert html.get_attribute("dir") == ("rtl" if language == "ar" else "ltr"), where
        problems.extend(f"{where}: {problem}" for problem in axe_violations(page))
        name = f"{stop.visitor}-{(stop.route.name or 'page').replace(':', '-')}.png"
        page.screenshot(path=shots / name, full_page=True)

    assert len(visited) >= len(Role) + 2, f"the tour saw too few pages: {sorted(visited)}"
    assert not problems, "axe-core found:\n" + "\n".join(problems)
