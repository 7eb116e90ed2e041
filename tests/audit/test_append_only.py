"""Audit events cannot be changed or removed, through the ORM or in raw SQL."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from amparo.audit.models import AppendOnlyError, AuditEvent
from amparo.audit.services import record


@pytest.fixture
def event(db) -> AuditEvent:
    return record(None, "test.recorded", target="thing:1", detail="original")


def test_the_orm_refuses_updates_and_deletes(event):
    event.detail = "changed"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(detail="changed")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.get(pk=event.pk).detail == "original"


def test_the_database_refuses_a_raw_update(event):
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE audit_auditevent SET detail = 'changed' WHERE id = %s", [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).detail == "original"


def test_the_database_refuses_a_raw_delete(event):
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [event.pk])
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_the_database_still_accepts_new_events(event):
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO audit_auditevent (at, actor_label, actor_role, action, target, allowed,"
            " detail) VALUES (CURRENT_TIMESTAMP, '', '', 'raw.insert', '', %s, '')",
            [True],
        )
    assert AuditEvent.objects.filter(action="raw.insert").count() == 1


@pytest.mark.django_db(transaction=True)
def test_flushing_the_whole_database_still_works_and_keeps_the_triggers():
    from django.core.management import call_command

    record(None, "test.before_flush", allowed=True)
    call_command("flush", interactive=False, verbosity=0)
    assert not AuditEvent.objects.exists()
    kept = record(None, "test.after_flush", allowed=True)
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [kept.pk])
