from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client

from amparo.accounts.models import User
from amparo.accounts.roles import Role
from tests.accounts.flows import make_enrolled_user, sign_in_fully


@pytest.fixture
def coordinator(db) -> User:
    user, _secret = make_enrolled_user("coral", Role.COORDINATOR)
    return user


@pytest.fixture
def coordinator_client(coordinator: User) -> Client:
    client = Client()
    sign_in_fully(client, coordinator)
    return client


@pytest.fixture(autouse=True)
def fast_password_hasher(settings) -> None:
    # Argon2 is built to cost about a second a hash here; one flow test keeps it, the rest
    # use a cheap hasher so the suite stays fast. Overridden in test_first_run_flow.py.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def executor(transactional_db: None) -> Iterator[MigrationExecutor]:
    """Migrations to run by hand; the database is brought back to the latest at the end."""
    executor = MigrationExecutor(connection)
    try:
        yield executor
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
