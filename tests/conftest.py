"""Fixtures for the whole suite."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.utils import translation


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """On PostgreSQL, end sessions a test left open before the test database is dropped.

    A connection opened in a thread that has finished stays open until it is garbage
    collected, and PostgreSQL refuses to drop a database anyone is connected to. Such a
    session is named on stderr, so that the test that leaked it can be found, and ended.
    """
    yield
    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid, application_name, state, left(query, 200) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        for pid, application, state, query in cursor.fetchall():
            print(
                f"\nleft open by a test: PostgreSQL session {pid} ({application or '-'}, "
                f"{state}), last query: {query}",
                file=sys.stderr,
            )
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    connection.close()


@pytest.fixture(autouse=True)
def _site_language_after_each_test() -> Iterator[None]:
    """A request through the test client leaves its language active in the thread (Django's
    LocaleMiddleware does not switch it back), and so would a test that activates one: the
    next test starts in the site's language whatever ran before."""
    yield
    translation.deactivate()
