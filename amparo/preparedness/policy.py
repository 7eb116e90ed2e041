"""The family policy: a page for a signed-in family account, never for staff as such.

Families are not Django users, so the deny-by-default middleware cannot tell them apart:
the view is declared open to anyone (Policy(anonymous=True), named "family"), and the
decorator below does the family-session check itself before the view runs. A visitor
without a live family session is sent to the family sign-in page; nothing of a plan is
read before that check.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Concatenate, ParamSpec

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import redirect
from django.urls import reverse

from amparo.preparedness.models import FamilyAccount
from amparo.web.policy import Policy

FAMILY_SESSION_KEY = "amparo_family_account"
FAMILY_PENDING_KEY = "amparo_family_pending"
FAMILY_STARTED_KEY = "amparo_family_started"
FAMILY_SEEN_KEY = "amparo_family_seen"
FAMILY_POLICY = Policy("family", anonymous=True)

P = ParamSpec("P")


def signed_in_family(request: HttpRequest) -> FamilyAccount | None:
    """The family account of this session, or None (and the family keys cleared)."""
    session = request.session
    account_id = session.get(FAMILY_SESSION_KEY)
    if account_id is None:
        return None
    now = int(time.time())
    started = int(session.get(FAMILY_STARTED_KEY, 0))
    seen = int(session.get(FAMILY_SEEN_KEY, 0))
    expired = (
        now - started >= settings.SESSION_ABSOLUTE_SECONDS
        or now - seen >= settings.SESSION_IDLE_SECONDS
    )
    account = None if expired else FamilyAccount.objects.filter(pk=account_id).first()
    if account is None or not account.is_active:
        for key in (FAMILY_SESSION_KEY, FAMILY_STARTED_KEY, FAMILY_SEEN_KEY):
            session.pop(key, None)
        return None
    if now - seen >= 60:
        session[FAMILY_SEEN_KEY] = now
    return account


def family_only(
    view: Callable[Concatenate[HttpRequest, FamilyAccount, P], HttpResponseBase],
) -> Callable[Concatenate[HttpRequest, P], HttpResponseBase]:
    """Only a signed-in family; the view receives its account as the second argument."""

    @wraps(view)
    def checked(request: HttpRequest, /, *args: P.args, **kwargs: P.kwargs) -> HttpResponseBase:
        account = signed_in_family(request)
        if account is None:
            return redirect(reverse("preparedness:sign_in"))
        return view(request, account, *args, **kwargs)

    checked.amparo_policy = FAMILY_POLICY  # type: ignore[attr-defined]
    return checked
