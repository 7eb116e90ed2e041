"""`amparo.rows.insert` stores exactly what `save()` stores, keys included, one statement for
many rows; what it refuses, it refuses before writing."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, models
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from amparo.audit.models import AuditEvent
from amparo.audit.services import event
from amparo.hotline import services
from amparo.hotline.models import Case, CaseStatus, IntakeBucket, StatusEvent
from amparo.rows import Row, insert, insert_rows
from tests.hotline.factories import answers

pytestmark = pytest.mark.django_db


def stored(model: type[models.Model], pk: object) -> dict[str, Any]:
    row = dict(model._default_manager.filter(pk=pk).values().get())
    row.pop("id", None)
    return row


def test_a_row_is_the_row_save_would_store():
    now = timezone.now()
    given = answers(legal_name="Ana María López", other_names="Ana Lopez\nAnita")
    saved = services.unsaved_case(given, now)
    saved.save(force_insert=True)
    inserted = services.unsaved_case(given, now)
    insert(inserted)
    assert inserted.pk is not None
    assert inserted.pk != saved.pk
    assert not inserted._state.adding
    mine, theirs = stored(Case, inserted.pk), stored(Case, saved.pk)
    # Sealed values carry a fresh nonce each time; everything else is the same.
    for sealed in ("a_number_sealed", "date_of_birth_sealed"):
        assert mine.pop(sealed) != theirs.pop(sealed)
    assert mine == theirs
    assert Case.objects.get(pk=inserted.pk).a_number() == saved.a_number()


def test_auto_now_add_defaults_and_foreign_keys_are_filled_in():
    before = timezone.now()
    made = event(None, "test.insert", target="case:1")
    insert(made)
    row = AuditEvent.objects.get(pk=made.pk)
    assert row.at >= before
    assert (row.actor_id, row.action, row.target, row.allowed) == (
        None,
        "test.insert",
        "case:1",
        True,
    )
    case = Case.objects.create(legal_name="X")
    status = StatusEvent(case=case, status=CaseStatus.REPORTED)
    insert(status)
    assert StatusEvent.objects.get(pk=status.pk).case == case


def test_many_rows_go_in_with_one_statement_and_get_their_keys_in_order():
    events = [event(None, "test.many", target=f"n:{n}") for n in range(5)]
    with CaptureQueriesContext(connection) as queries:
        insert(*events)
    assert len([q for q in queries.captured_queries if q["sql"].startswith("INSERT")]) == 1
    for made in events:
        assert AuditEvent.objects.get(pk=made.pk).target == made.target
    assert len({made.pk for made in events}) == 5


def test_a_given_primary_key_is_stored_as_given():
    bucket = IntakeBucket(name="given", tokens=3.5, updated_at=timezone.now())
    insert(bucket)
    assert IntakeBucket.objects.get(name="given").tokens == 3.5


def test_nothing_and_mixed_models_are_refused_or_ignored():
    insert()  # nothing to do
    with pytest.raises(ValueError, match="one model"):
        insert(event(None, "a"), Case(legal_name="b"))
    with pytest.raises(ValueError, match="all with keys or all without"):
        insert(Case(legal_name="c"), Case(pk=10_000, legal_name="d"))
    assert not AuditEvent.objects.filter(action="a").exists()
    assert not Case.objects.filter(legal_name__in=["b", "c", "d"]).exists()


def test_a_row_prepared_before_its_parent_is_inserted_points_at_it_once_referred():
    case = Case(legal_name="Ana")
    status = Row(StatusEvent(case=case, status=CaseStatus.REPORTED))
    insert(case)
    status.refer("case", case)
    with CaptureQueriesContext(connection) as queries:
        insert_rows([status])
    assert len(queries) == 1
    assert StatusEvent.objects.get(pk=status.obj.pk).case_id == case.pk
    with CaptureQueriesContext(connection) as queries:
        assert status.obj.case is case  # type: ignore[attr-defined]
    assert len(queries) == 0


def test_values_taken_as_they_are_equal_djangos_conversion():
    """A str in a character field and a bool in a boolean one are taken unconverted; every
    value must still equal what the field's own conversion gives."""
    from django.utils.translation import gettext_lazy

    from amparo.hotline.models import Intake, IntakeChannel
    from amparo.rows import _columns

    prepared = services.prepare_intake(
        answers(legal_name="Ana María López", needs_money=True), IntakeChannel.PUBLIC_FORM
    )
    audit = event(None, "test.convert", target="case:9")
    audit.target = gettext_lazy("case:9")  # type: ignore[assignment]  # not a str: converted
    for obj in (prepared.case.obj, prepared.intake.obj, prepared.status.obj, audit):
        row = Row(obj)
        fields = _columns(type(obj), row.with_pk)
        converted = [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]
        stamped = [getattr(f, "auto_now_add", False) for f in fields]  # "now" at each call
        assert [v for v, s in zip(row.values, stamped, strict=True) if not s] == [
            v for v, s in zip(converted, stamped, strict=True) if not s
        ]
        assert [type(v) for v in row.values] == [type(v) for v in converted]
    assert isinstance(prepared.intake.obj, Intake)
    assert (
        type(Row(audit).values[[f.name for f in _columns(AuditEvent, False)].index("target")])
        is str
    )
