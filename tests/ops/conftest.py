"""Fixtures for the operations tests."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest


@pytest.fixture
def restored_signals() -> Iterator[None]:
    # db_worker installs its own SIGINT/SIGTERM handlers when run in this process.
    saved = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    yield
    for number, handler in saved.items():
        signal.signal(number, handler)
