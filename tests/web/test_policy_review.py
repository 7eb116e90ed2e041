"""Guards from a security review of the policy layer and the response headers."""

from __future__ import annotations

import pytest
from django.test import Client

from amparo.web.checks import iter_routes
from amparo.web.policy import policy_of

# Only the steps between the password and the second factor may skip the second factor.
SECOND_FACTOR_STEPS = {
    "accounts:logout",
    "accounts:mfa",
    "accounts:mfa_enrol",
    "accounts:mfa_verify",
}


def test_only_the_second_factor_steps_admit_a_password_only_session() -> None:
    admitting = set()
    for route in iter_routes():
        policy = policy_of(route.view)
        if policy is not None and policy.mfa_pending:
            admitting.add(route.name or str(route))
    assert admitting == SECOND_FACTOR_STEPS


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "status"),
    [("/accounts/sign-in/", 200), ("/no-such-page/", 404), ("/home/", 302)],
)
def test_every_answer_carries_the_strict_headers(path: str, status: int) -> None:
    response = Client().get(path)
    assert response.status_code == status
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert response["Cache-Control"] == "no-store"
    assert response["X-Frame-Options"] == "DENY"


@pytest.mark.django_db
def test_the_sign_in_redirect_carries_only_a_local_path() -> None:
    response = Client().get("/home/?next=https://evil.example/")
    location = response["Location"]
    assert location.startswith("/accounts/sign-in/?next=/home/%3Fnext%3Dhttps")
    assert "&" not in location
