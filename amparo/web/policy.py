"""Deny by default: every view declares who may use it, or nobody may.

A view declares its policy with one of the decorators below. The middleware at the
end of the stack refuses any view that has none, and records every refusal as an
audit event. Object-level checks (is this attorney on this event's legal team?)
stay in each app's services; this layer answers only "who may reach this URL".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from amparo.accounts.roles import Role

MFA_SESSION_KEY = "amparo_mfa_verified"

ViewT = TypeVar("ViewT", bound=Callable[..., Any])


@dataclass(frozen=True)
class Policy:
    """Who may reach a view.

    ``anonymous``: no sign-in needed. ``roles``: the staff roles allowed once signed in
    with MFA (empty means any role). ``mfa_pending``: a person who has given their
    password but not yet their second factor (the enrol and verify pages).
    """

    name: str
    anonymous: bool = False
    roles: frozenset[str] = frozenset()
    mfa_pending: bool = False

    def describe(self) -> str:
        if self.anonymous:
            return "anyone"
        if self.mfa_pending:
            return "signed in, second factor pending"
        if self.roles:
            return "roles: " + ", ".join(sorted(self.roles))
        return "any signed-in staff"


def _attach(policy: Policy) -> Callable[[ViewT], ViewT]:
    def decorate(view: ViewT) -> ViewT:
        view.amparo_policy = policy  # type: ignore[attr-defined]
        return view

    return decorate


def public(view: ViewT) -> ViewT:
    """Anyone, signed in or not: sign-in pages, public intake, teach-in pages."""
    return _attach(Policy("public", anonymous=True))(view)


def mfa_pending(view: ViewT) -> ViewT:
    """A person who has passed the password step and now enrols or gives a TOTP code."""
    return _attach(Policy("mfa_pending", mfa_pending=True))(view)


def signed_in(view: ViewT) -> ViewT:
    """Any staff member who has completed MFA."""
    return _attach(Policy("signed_in"))(view)


def roles(*allowed: Role) -> Callable[[ViewT], ViewT]:
    """Only staff holding one of these roles, after MFA."""
    if not allowed:
        raise ValueError("roles() needs at least one role; use signed_in for any role")
    return _attach(Policy("roles", roles=frozenset(str(r) for r in allowed)))


def policy_of(view: Callable[..., Any]) -> Policy | None:
    found = getattr(view, "amparo_policy", None)
    if found is None:
        view_class = getattr(view, "view_class", None) or getattr(view, "cls", None)
        found = getattr(view_class, "amparo_policy", None)
    return found if isinstance(found, Policy) else None


def has_completed_mfa(request: HttpRequest) -> bool:
    return bool(request.user.is_authenticated and request.session.get(MFA_SESSION_KEY))


class Refusal(Exception):
    """Raised by services when an object-level check refuses; rendered as 403."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def refuse(request: HttpRequest, reason: str, target: str = "") -> HttpResponse:
    """Record a refusal as an audit event and answer 403 with a page a person can read."""
    from amparo.audit.services import record

    record(request, "access.refused", target=target or request.path, allowed=False, detail=reason)
    response = render(request, "web/refused.html", {"reason": reason}, status=403)
    return response


class AccessPolicyMiddleware:
    """Applies each view's declared policy; refuses views that declare none."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view: Callable[..., Any],
        args: Iterable[Any],
        kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        policy = policy_of(view)
        if policy is None:
            return refuse(request, "no access policy is declared for this page")
        if policy.anonymous:
            return None
        user = request.user
        if not user.is_authenticated:
            return redirect_to_sign_in(request)
        if policy.mfa_pending:
            return None
        if not has_completed_mfa(request):
            return redirect(reverse("accounts:mfa"))
        if policy.roles and getattr(user, "role", None) not in policy.roles:
            return refuse(request, "your role does not give access to this page")
        return None

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, Refusal):
            return refuse(request, exception.reason)
        return None


def redirect_to_sign_in(request: HttpRequest) -> HttpResponse:
    target = reverse(settings.LOGIN_URL)
    path = request.get_full_path()
    # Only local paths are carried through sign-in, never a full URL.
    if path.startswith("/") and not path.startswith("//"):
        return redirect(f"{target}?{urlencode({REDIRECT_FIELD_NAME: path}, safe='/')}")
    return redirect(target)
