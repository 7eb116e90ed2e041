"""Server-side session limits: an idle time-out and an absolute lifetime."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse

STARTED_KEY = "amparo_started"
SEEN_KEY = "amparo_seen"
# Write the last-seen time at most this often, so every click is not a database write.
SEEN_GRANULARITY = 60


class SessionLifetimeMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = int(time.time())
            session = request.session
            started = int(session.get(STARTED_KEY, now))
            seen = int(session.get(SEEN_KEY, now))
            expired = (
                now - started > settings.SESSION_ABSOLUTE_SECONDS
                or now - seen > settings.SESSION_IDLE_SECONDS
                or not request.user.is_active
            )
            if expired:
                logout(request)
            else:
                session.setdefault(STARTED_KEY, started)
                if now - seen >= SEEN_GRANULARITY or SEEN_KEY not in session:
                    session[SEEN_KEY] = now
        return self.get_response(request)
