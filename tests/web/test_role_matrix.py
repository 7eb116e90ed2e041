"""Every route, every kind of visitor: the outcome must follow the route's declared policy.

Expected results are computed from the policy the view declares, never written down by
hand, so a view that says "coordinators only" while the middleware lets an observer in
fails here, named by route and visitor.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.http.response import HttpResponseBase
from django.test import Client, override_settings
from django.urls import get_resolver, reverse

from amparo.accounts.models import User
from amparo.accounts.roles import Role
from amparo.audit.models import AuditEvent
from amparo.web.checks import Route, iter_routes
from amparo.web.policy import MFA_SESSION_KEY, Policy, policy_of

# Plausible values for URL arguments, tried in order until one fits the converter.
SAMPLE_VALUES = ("7", "sample-token-7Qx9", "2b1e6f8c-3d4a-4c5b-9e7f-0a1b2c3d4e5f", "a/b")
PARAMETER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")


@dataclass(frozen=True)
class Visitor:
    label: str
    role: str | None  # None: not signed in
    mfa_done: bool = True


VISITORS = [
    Visitor("anonymous", None),
    *(Visitor(str(role), str(role)) for role in Role),
    Visitor("mfa-pending", str(Role.OBSERVER), mfa_done=False),
]


def sample_path(route: Route) -> str:
    def fill(match: re.Match[str]) -> str:
        converter = route.converters[match["name"]]
        for value in SAMPLE_VALUES:
            if re.fullmatch(converter.regex, value):
                return str(converter.to_url(converter.to_python(value)))
        raise AssertionError(f"no sample value fits <{match[0]}> in {route}")

    if "(?P<" in route.pattern:
        raise AssertionError(f"{route} is a regex pattern; give the matrix a sample for it")
    return "/" + PARAMETER.sub(fill, route.pattern)


ROUTES = list(iter_routes())
CASES = [
    pytest.param(route, visitor, id=f"/{route.pattern}|{visitor.label}")
    for route in ROUTES
    for visitor in VISITORS
]


def sign_in(client: Client, visitor: Visitor) -> User | None:
    if visitor.role is None:
        return None
    user = User.objects.create_user(username=f"{visitor.label}-person", role=visitor.role)
    client.force_login(user)
    session = client.session
    session[MFA_SESSION_KEY] = visitor.mfa_done
    session.save()
    return user


def location_path(response: HttpResponseBase) -> str:
    return urlsplit(str(response.get("Location", ""))).path


def expected_outcome(policy: Policy, visitor: Visitor) -> str:
    if policy.anonymous:
        return "allowed"
    if visitor.role is None:
        return "sign-in"
    if policy.mfa_pending:
        return "allowed"
    if not visitor.mfa_done:
        return "mfa"
    if policy.roles and visitor.role not in policy.roles:
        return "refused"
    return "allowed"


@pytest.mark.django_db
@pytest.mark.parametrize(("route", "visitor"), CASES)
def test_route_answers_as_its_policy_declares(route: Route, visitor: Visitor) -> None:
    assert_route_answers_as_declared(route, visitor)


def assert_route_answers_as_declared(route: Route, visitor: Visitor) -> None:
    policy = policy_of(route.view)
    assert policy is not None, f"{route} declares no policy (see test_url_policies)"
    client = Client()
    sign_in(client, visitor)
    path = sample_path(route)
    refusals_before = AuditEvent.objects.filter(allowed=False).count()

    response = client.get(path)

    sign_in_path = reverse("accounts:login")
    mfa_path = reverse("accounts:mfa")
    expected = expected_outcome(policy, visitor)
    what = f"GET {path} as {visitor.label} under policy '{policy.describe()}'"
    if expected == "sign-in":
        assert response.status_code == 302, f"{what}: expected a redirect to sign in"
        assert location_path(response) == sign_in_path, what
        assert f"next={path}" in response["Location"], f"{what}: sign-in must return here"
    elif expected == "mfa":
        assert response.status_code == 302, f"{what}: expected a redirect to the MFA page"
        assert location_path(response) == mfa_path, what
    elif expected == "refused":
        assert response.status_code == 403, f"{what}: expected 403, got {response.status_code}"
        refusals = AuditEvent.objects.filter(allowed=False).count() - refusals_before
        assert refusals == 1, f"{what}: the refusal must be audited"
    else:
        assert response.status_code != 403, f"{what}: refused but the policy allows it"
        # A view may send someone to sign in itself (sign-out does); the middleware's
        # redirect is the one that carries this page as `next`.
        assert not (
            location_path(response) == sign_in_path and f"next={path}" in response["Location"]
        ), f"{what}: sent to sign in but the policy allows it"
        if not (policy.anonymous or policy.mfa_pending):
            assert location_path(response) != mfa_path, f"{what}: sent to MFA after MFA"


def test_matrix_covers_every_role() -> None:
    assert {visitor.role for visitor in VISITORS if visitor.mfa_done} >= {str(r) for r in Role}


def test_matrix_would_catch_a_role_leak() -> None:
    coordinators_only = Policy("roles", roles=frozenset({str(Role.COORDINATOR)}))
    observer = Visitor("observer", str(Role.OBSERVER))
    assert expected_outcome(coordinators_only, observer) == "refused"
    assert expected_outcome(coordinators_only, Visitor("anonymous", None)) == "sign-in"


def throwaway_route(name: str) -> Route:
    resolver = get_resolver("tests.web.throwaway_urls")
    return next(route for route in iter_routes(resolver) if route.name == name)


@pytest.mark.django_db
@override_settings(ROOT_URLCONF="tests.web.throwaway_urls")
def test_matrix_passes_a_role_restricted_view_that_is_enforced() -> None:
    route = throwaway_route("coordinators_only")
    for visitor in VISITORS:
        assert_route_answers_as_declared(route, visitor)


@pytest.mark.django_db
@pytest.mark.parametrize("label", ["anonymous", "observer", "mfa-pending"])
def test_matrix_fails_when_the_middleware_lets_others_through(label: str) -> None:
    route = throwaway_route("coordinators_only")
    visitor = next(visitor for visitor in VISITORS if visitor.label == label)
    without_policy = [m for m in settings.MIDDLEWARE if not m.endswith("AccessPolicyMiddleware")]
    with (
        override_settings(ROOT_URLCONF="tests.web.throwaway_urls", MIDDLEWARE=without_policy),
        pytest.raises(AssertionError),
    ):
        assert_route_answers_as_declared(route, visitor)
