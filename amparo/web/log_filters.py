"""Logging filters named in settings.LOGGING."""

from __future__ import annotations

import logging
import threading
import time


class RefusalSummary(logging.Filter):
    """One line a minute for "429 Too Many Requests", not one per refusal.

    Django logs every 4xx answer at WARNING. In a flood the public form answers hundreds of
    429s a second, each of which would be a line of its own: the first 429 of a quiet spell
    is logged as it is, so the flood shows when it starts, and later ones only once the
    interval has passed, with the number held back since. Other records pass untouched.
    """

    def __init__(self, interval_seconds: float = 60.0) -> None:
        super().__init__()
        self.interval_seconds = interval_seconds
        self._lock = threading.Lock()
        self._last_logged: float | None = None
        self._held_back = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) != 429:
            return True
        now = time.monotonic()
        with self._lock:
            if self._last_logged is not None and now - self._last_logged < self.interval_seconds:
                self._held_back += 1
                return False
            held_back, self._held_back, self._last_logged = self._held_back, 0, now
        if held_back:
            record.msg = f"{record.msg} (and {held_back} more 429 answers not logged before it)"
        return True
