"""Logging filters named in settings.LOGGING."""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime


class RefusalSummary(logging.Filter):
    """One line a minute for each path answering "429 Too Many Requests", not one per refusal.

    Django logs every 4xx answer at WARNING. In a flood the public form answers hundreds of
    429s a second, each of which would be a line of its own. For each path, the first 429 of a
    quiet spell is logged as it is, so a flood shows when it starts, and later ones only once
    the interval has passed, with the number held back since the last line. Paths are counted
    apart, so a flood on the public form does not hide the 429s of another page (a locked-out
    activation code). Each server process counts its own. Other records pass untouched.
    """

    def __init__(self, interval_seconds: float = 60.0) -> None:
        super().__init__()
        self.interval_seconds = interval_seconds
        self._lock = threading.Lock()
        # path -> (when its last line was logged: monotonic, wall clock; how many since)
        self._paths: dict[str, tuple[float, datetime, int]] = {}

    def reset(self) -> None:
        with self._lock:
            self._paths.clear()

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) != 429:
            return True
        request = getattr(record, "request", None)
        path = str(getattr(request, "path", "") or "")
        now = time.monotonic()
        with self._lock:
            last = self._paths.get(path)
            if last is not None and now - last[0] < self.interval_seconds:
                self._paths[path] = (last[0], last[1], last[2] + 1)
                return False
            if last is None and len(self._paths) >= 1000:
                self._paths.clear()  # only a few pages answer 429; never let this grow
            self._paths[path] = (now, datetime.now().astimezone(), 0)
        if last is not None and last[2]:
            since = last[1].strftime("%H:%M:%S")
            record.msg = f"{record.msg} (and {last[2]} more 429 answers since {since} not logged)"
        return True
