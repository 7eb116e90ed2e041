"""How DATABASE_URL becomes Django's database settings."""

from __future__ import annotations

import pytest
from django.db import connection

from amparo import settings


def test_without_a_url_amparo_runs_on_sqlite_in_wal_mode(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    default = settings._databases()["default"]
    assert default["ENGINE"] == "django.db.backends.sqlite3"
    assert "journal_mode=WAL" in default["OPTIONS"]["init_command"]


def test_postgresql_gives_up_on_a_dead_connection(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://amparo:secret@db.example.org:5432/amparo")
    default = settings._databases()["default"]
    assert default["HOST"] == "db.example.org"
    for name, value in settings.POSTGRES_CONNECTION_DEFAULTS.items():
        assert default["OPTIONS"][name] == value
    assert default["OPTIONS"]["keepalives"] == 1
    assert default["OPTIONS"]["tcp_user_timeout"] > 0
    assert default["CONN_HEALTH_CHECKS"] is True


def test_the_urls_own_connection_settings_win(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(
        "DATABASE_URL",
        "postgres://amparo@/amparo?host=/run/postgresql&keepalives_idle=5&sslmode=require",
    )
    options = settings._databases()["default"]["OPTIONS"]
    assert options["keepalives_idle"] == 5
    assert options["sslmode"] == "require"
    assert options["host"] == "/run/postgresql"
    assert options["keepalives_count"] == settings.POSTGRES_CONNECTION_DEFAULTS["keepalives_count"]


@pytest.mark.django_db
def test_the_live_postgresql_connection_was_opened_with_them():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    connection.ensure_connection()
    opened = {
        option.keyword.decode(): option.val.decode()
        for option in connection.connection.pgconn.info
        if option.val is not None
    }
    for name in settings.POSTGRES_CONNECTION_DEFAULTS:
        assert name in opened, name
    assert opened["keepalives"] == "1"
