"""Server-side session limits: idle time-out, absolute lifetime, and the account's standing.

A session ends when it has been idle too long, when it is older than the absolute
lifetime, when its account is disabled, or when the account's access window is closed.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import SESSION_KEY, logout
from django.http import HttpRequest, HttpResponse

STARTED_KEY = "amparo_started"
SEEN_KEY = "amparo_seen"
# Why the last session ended, for the sign-in page to say; kept in the new, empty session.
ENDED_REASON_KEY = "amparo_ended_reason"
# Write the last-seen time at most this often, so every click is not a database write.
SEEN_GRANULARITY = 60


def session_end_reason(request: HttpRequest, now: int) -> str | None:
    """Why this signed-in session must end now, or None if it may go on."""
    user = request.user
    session = request.session
    started = int(session.get(STARTED_KEY, now))
    seen = int(session.get(SEEN_KEY, now))
    if now - started >= settings.SESSION_ABSOLUTE_SECONDS:
        return "absolute"
    if now - seen >= settings.SESSION_IDLE_SECONDS:
        return "idle"
    if not user.is_active:
        return "disabled"
    within = getattr(user, "within_access_window", None)
    if within is not None and not within():
        return "access_window"
    return None


class SessionLifetimeMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = request.session
        if request.user.is_authenticated:
            now = int(time.time())
            reason = session_end_reason(request, now)
            if reason is not None:
                logout(request)
                request.session[ENDED_REASON_KEY] = reason
            else:
                session.setdefault(STARTED_KEY, now)
                if SEEN_KEY not in session or now - int(session[SEEN_KEY]) >= SEEN_GRANULARITY:
                    session[SEEN_KEY] = now
        elif SESSION_KEY in session:
            # The account behind this session can no longer be loaded (disabled, or its
            # password changed): drop the session rather than let it come back later.
            session.flush()
            session[ENDED_REASON_KEY] = "disabled"
        return self.get_response(request)
