"""Every page a person can reach without a secret link, and who to visit it as."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.conf import settings
from django.test import Client
from playwright._impl._api_structures import SetCookieParam
from playwright.sync_api import BrowserContext, Page

from amparo.accounts.models import User
from amparo.accounts.roles import Role
from amparo.web.checks import Route, iter_routes
from amparo.web.policy import MFA_SESSION_KEY, policy_of

PARAMETER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")
ANONYMOUS = "anonymous"
MFA_PENDING = "mfa-pending"


@dataclass(frozen=True)
class Stop:
    visitor: str  # ANONYMOUS, MFA_PENDING or a role
    route: Route


def visitors_for(route: Route) -> list[str]:
    policy = policy_of(route.view)
    if policy is None:
        return []
    if policy.anonymous:
        return [ANONYMOUS]
    if policy.mfa_pending:
        return [MFA_PENDING]
    if route.name == "web:home":
        return [str(role) for role in Role]  # each role has its own home
    allowed = [str(role) for role in Role if not policy.roles or str(role) in policy.roles]
    return allowed[:1]


def tour() -> list[Stop]:
    """Routes whose only parameters are numbers, each with one visitor allowed in."""
    stops: list[Stop] = []
    for route in iter_routes():
        converters = [match["converter"] for match in PARAMETER.finditer(route.pattern)]
        if any(converter != "int" for converter in converters):
            continue  # needs a secret token: the new-user flow visits those
        stops.extend(Stop(visitor, route) for visitor in visitors_for(route))
    return stops


def path_for(route: Route, record_id: int) -> str:
    return "/" + PARAMETER.sub(str(record_id), route.pattern)


def session_for(user: User, *, mfa_done: bool) -> str:
    """A signed-in session for this person, made without typing a password or a code."""
    client = Client()
    client.force_login(user)
    session = client.session
    session[MFA_SESSION_KEY] = mfa_done
    session.save()
    assert session.session_key is not None
    return session.session_key


def become(context: BrowserContext, site: str, session_key: str | None, language: str) -> None:
    """Swap the browser's identity in place; one page keeps axe-core compiled across visitors."""
    context.clear_cookies()
    cookies: list[SetCookieParam] = [
        {"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": site}
    ]
    if session_key is not None:
        cookies.append({"name": settings.SESSION_COOKIE_NAME, "value": session_key, "url": site})
    context.add_cookies(cookies)


def choose_language(page: Page, code: str) -> None:
    """Use the language form every page carries, as a person would."""
    page.select_option("#language-select", code)
    with page.expect_navigation():
        page.click("form.language button[type=submit]")


def sign_in_context(context: BrowserContext, site: str, user: User, *, mfa_done: bool) -> None:
    """Give a fresh browser context a signed-in session for this person."""
    session_key = session_for(user, mfa_done=mfa_done)
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session_key, "url": site}])
