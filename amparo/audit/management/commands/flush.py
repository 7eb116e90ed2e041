"""`flush` that still works once audit events are append-only.

Emptying the whole database (the test suite does it between transactional tests) is
an operator's act, not the application's. PostgreSQL empties tables with TRUNCATE,
which row triggers do not see; SQLite deletes row by row, so there the append-only
triggers are lifted for the flush and restored straight after.
"""

from __future__ import annotations

from typing import Any

from django.core.management.commands import flush
from django.db import connections

SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS audit_auditevent_refuse_update",
    "DROP TRIGGER IF EXISTS audit_auditevent_refuse_delete",
]
SQLITE_CREATE = [
    "CREATE TRIGGER IF NOT EXISTS audit_auditevent_refuse_update BEFORE UPDATE ON "
    "audit_auditevent BEGIN SELECT RAISE(ABORT, 'audit events are append-only: UPDATE "
    "refused'); END",
    "CREATE TRIGGER IF NOT EXISTS audit_auditevent_refuse_delete BEFORE DELETE ON "
    "audit_auditevent BEGIN SELECT RAISE(ABORT, 'audit events are append-only: DELETE "
    "refused'); END",
]


class Command(flush.Command):
    def handle(self, **options: Any) -> None:
        connection = connections[options["database"]]
        if connection.vendor != "sqlite" or "audit_auditevent" not in set(
            connection.introspection.table_names()
        ):
            super().handle(**options)
            return
        with connection.cursor() as cursor:
            for statement in SQLITE_DROP:
                cursor.execute(statement)
        try:
            super().handle(**options)
        finally:
            with connection.cursor() as cursor:
                for statement in SQLITE_CREATE:
                    cursor.execute(statement)
