"""A flood of 429 answers is logged as one line a minute for each path, saying how many were
held back."""

from __future__ import annotations

import logging
import re
import time
from types import SimpleNamespace

import pytest
from django.test import Client
from django.urls import reverse

from amparo.hotline.intake_throttle import forget_refusals
from amparo.web.log_filters import RefusalSummary


def record(status: int, path: str = "/path/") -> logging.LogRecord:
    made = logging.LogRecord(
        "django.request", logging.WARNING, __file__, 1, "%s: %s", ("Reason", path), None
    )
    made.status_code = status
    made.request = SimpleNamespace(path=path)
    return made


def test_429s_after_the_first_are_held_back_then_counted(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    summary = RefusalSummary(interval_seconds=60)
    assert summary.filter(record(429))
    assert [summary.filter(record(429)) for _ in range(5)] == [False] * 5
    assert summary.filter(record(404))  # other answers are not summarised
    assert summary.filter(record(500))
    clock[0] += 59
    assert not summary.filter(record(429))
    clock[0] += 2
    counted = record(429)
    assert summary.filter(counted)
    assert re.fullmatch(
        r"Reason: /path/ \(and 6 more 429 answers since \d\d:\d\d:\d\d not logged\)",
        counted.getMessage(),
    )
    clock[0] += 61
    quiet = record(429)
    assert summary.filter(quiet)
    assert quiet.getMessage() == "Reason: /path/"


def test_each_path_is_counted_apart(monkeypatch):
    monkeypatch.setattr(time, "monotonic", lambda: 1000.0)
    summary = RefusalSummary(interval_seconds=60)
    assert summary.filter(record(429, "/hotline/help/"))
    assert not summary.filter(record(429, "/hotline/help/"))
    # A flood on the public form does not hide another page's refusals.
    assert summary.filter(record(429, "/plans/activate/"))
    assert not summary.filter(record(429, "/plans/activate/"))


@pytest.fixture
def quiet_log() -> RefusalSummary:
    (summary,) = [
        f for f in logging.getLogger("django.request").filters if isinstance(f, RefusalSummary)
    ]
    summary.reset()  # a quiet spell, whatever earlier tests refused
    return summary


@pytest.mark.django_db
def test_a_flood_on_the_public_form_is_one_line(settings, caplog, quiet_log):
    settings.INTAKE_BURST = 1
    settings.INTAKE_PER_SECOND = 0.001
    forget_refusals()
    client = Client()
    answers = [client.post(reverse("hotline:help"), {"caller_name": "x"}) for _ in range(20)]
    assert [a.status_code for a in answers].count(429) == 19  # the first spent the token
    assert [r.getMessage() for r in caplog.records if r.name == "django.request"] == [
        "Too Many Requests: /hotline/help/"
    ]
