"""How the public form admits a submission: the token bucket, its in-memory refusals, one
transaction per submission, groups that commit together, and the one-query duplicate check."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import date

import pytest
from django.db import OperationalError, connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from amparo.audit.models import AuditEvent
from amparo.hotline import intake_writer, services
from amparo.hotline.intake_throttle import (
    BucketShape,
    forget_refusals,
    known_refusal,
    take_token,
    take_tokens,
)
from amparo.hotline.models import (
    Case,
    DuplicateFlag,
    DuplicateReason,
    Intake,
    IntakeBucket,
    IntakeChannel,
    StatusEvent,
)
from amparo.rows import Row
from tests.hotline.factories import answers, intake

pytestmark = pytest.mark.django_db

FORM = {
    "caller_name": "Rosa",
    "caller_phone": "+1 555 0100",
    "caller_language": "es",
    "legal_name": "José Luis Hernández",
    "date_of_birth": "1987-04-23",
    "country_of_birth": "Guatemala",
    "a_number": "A012-345-678",
    "needs_legal": "on",
    "update_channel": "",
}
TIGHT = BucketShape(capacity=2, refill_per_second=0.01)


@pytest.fixture(autouse=True)
def fresh_memory() -> None:
    forget_refusals()


def test_a_refusal_is_remembered_and_answered_without_the_database():
    assert take_token("t", TIGHT).allowed
    assert take_token("t", TIGHT).allowed
    stored = IntakeBucket.objects.get(name="t")
    first = take_token("t", TIGHT)
    assert not first.allowed
    assert 90 <= first.retry_after_seconds <= 101
    # The refusal wrote nothing: the bucket is as the last admitted token left it.
    assert IntakeBucket.objects.get(name="t").updated_at == stored.updated_at
    with CaptureQueriesContext(connection) as queries:
        again = take_token("t", TIGHT)
    assert len(queries) == 0
    assert not again.allowed
    assert 1 <= again.retry_after_seconds <= first.retry_after_seconds
    # Another shape of the same bucket is not refused from memory.
    assert known_refusal("t", BucketShape(capacity=2, refill_per_second=100)) is None


def test_the_remembered_refusal_ends_when_a_token_is_due(monkeypatch):
    assert take_token("t", TIGHT).allowed
    assert take_token("t", TIGHT).allowed
    assert not take_token("t", TIGHT).allowed
    later = time.monotonic() + 101
    monkeypatch.setattr(time, "monotonic", lambda: later)
    assert known_refusal("t", TIGHT) is None


def test_changing_the_limit_forgets_refusals(settings):
    settings.INTAKE_BURST = 1
    settings.INTAKE_PER_SECOND = 0.01
    client = Client()
    assert client.post(reverse("hotline:help"), FORM).status_code == 302
    refused = client.post(reverse("hotline:help"), FORM)
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) >= 1
    IntakeBucket.objects.all().delete()
    # Same shape: still refused from memory, the database is not asked.
    with CaptureQueriesContext(connection) as queries:
        assert client.post(reverse("hotline:help"), FORM).status_code == 429
    assert not any("hotline_" in query["sql"] for query in queries.captured_queries)
    settings.INTAKE_BURST = 5
    assert client.post(reverse("hotline:help"), FORM).status_code == 302


def test_an_intake_is_one_transaction_with_its_token_and_audit_event(settings):
    settings.INTAKE_BURST = 10
    settings.INTAKE_PER_SECOND = 0.01
    with CaptureQueriesContext(connection) as queries:
        response = Client().post(reverse("hotline:help"), FORM)
    assert response.status_code == 302
    case = Case.objects.get()
    assert Intake.objects.get().case == case
    assert StatusEvent.objects.get().case == case
    assert AuditEvent.objects.get(action="hotline.intake.public").target == f"case:{case.pk}"
    assert 8.9 < IntakeBucket.objects.get().tokens < 9.1
    sql = [query["sql"] for query in queries.captured_queries]
    # One savepoint for the submission (the test's own transaction stands in for BEGIN),
    # none nested inside it.
    assert sum(s.startswith("SAVEPOINT") for s in sql) == 1
    assert sum(s.startswith('SELECT "hotline_case"') for s in sql) == 1  # duplicates


def test_a_failed_store_spends_no_token_and_leaves_nothing(settings, monkeypatch):
    settings.INTAKE_BURST = 10
    settings.INTAKE_PER_SECOND = 0.01

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk gone")

    monkeypatch.setattr(services, "store_intakes", broken)
    with pytest.raises(RuntimeError, match="disk gone"):
        Client().post(reverse("hotline:help"), FORM)
    assert not Case.objects.exists()
    assert not Intake.objects.exists()
    assert not IntakeBucket.objects.exists()


def test_a_database_failure_is_a_503_with_retry_after_and_stores_nothing(
    settings, monkeypatch, caplog
):
    settings.INTAKE_BURST = 10
    settings.INTAKE_PER_SECOND = 0.01

    def full_disk(*args: object, **kwargs: object) -> None:
        raise OperationalError("database or disk is full")

    monkeypatch.setattr(services, "store_intakes", full_disk)
    response = Client().post(reverse("hotline:help"), FORM)
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert "Your answers were not sent" in response.content.decode()
    # The answers wait on the page, to be sent again (tests/hotline/test_busy_page.py).
    assert '<input type="hidden" name="a_number" value="A012-345-678">' in response.content.decode()
    assert not Case.objects.exists()
    assert not IntakeBucket.objects.exists()
    assert "could not be stored" in caplog.text
    for secret in ("012345678", "012-345-678", "1987-04-23"):
        assert secret not in caplog.text


def test_an_invalid_form_spends_a_token_and_opens_no_case(settings):
    settings.INTAKE_BURST = 10
    settings.INTAKE_PER_SECOND = 0.01
    response = Client().post(reverse("hotline:help"), {**FORM, "a_number": "12-34"})
    assert response.status_code == 200
    assert "8 or 9 digits" in response.content.decode()
    assert not Case.objects.exists()
    assert 8.9 < IntakeBucket.objects.get().tokens < 9.1


def submissions(
    count: int, shape: BucketShape, **overrides: object
) -> list[intake_writer._Submission]:
    group = []
    for number in range(count):
        given = answers(**{"legal_name": f"Persona {number}", **overrides})
        group.append(
            intake_writer._Submission(
                intake=services.prepare_intake(given, IntakeChannel.PUBLIC_FORM),
                bucket="together",
                shape=shape,
            )
        )
    return group


def test_a_group_commits_every_submission_but_one_that_fails():
    taken = intake().case
    group = submissions(3, BucketShape(capacity=10, refill_per_second=0.01), a_number="")
    # Its case row carries the key of a case already stored: its INSERT must fail.
    failing = group[1].intake
    assert failing is not None
    failing.case.obj.pk = taken.pk
    group[1].intake = replace(failing, case=Row(failing.case.obj))
    intake_writer._GroupCommitter._write(group)
    assert group[0].outcome is not None
    assert group[2].outcome is not None
    assert group[1].outcome is None
    assert group[1].error is not None
    assert Case.objects.count() == 3
    assert set(Intake.objects.values_list("caller_name", flat=True)) == {"Rosa Hernández"}
    assert Intake.objects.count() == 3
    # The failed submission's token went back with its savepoint.
    assert 7.9 < IntakeBucket.objects.get(name="together").tokens < 8.1


@pytest.mark.django_db(transaction=True)
def test_a_group_whose_savepoint_cannot_be_rolled_back_acknowledges_none(monkeypatch):
    """If the connection goes away while the group is written one by one, a savepoint cannot
    be rolled back and the whole transaction will be: no submission of it, not even one
    written before, may be acknowledged."""
    group = submissions(3, BucketShape(capacity=10, refill_per_second=0.01), a_number="")

    admit = intake_writer._admit_together
    singles: list[int] = []

    def second_fails(members: list[intake_writer._Submission]) -> bool:
        if len(members) > 1:
            raise ValueError("send the group down the one-by-one path")
        singles.append(1)
        if len(singles) == 2:
            monkeypatch.setattr(connection, "savepoint_rollback", gone)
            raise OperationalError("server closed the connection unexpectedly")
        return admit(members)

    def gone(sid: str) -> None:
        raise OperationalError("no connection to the server")

    monkeypatch.setattr(intake_writer, "_admit_together", second_fails)
    with pytest.raises(OperationalError, match="rolled back"):
        intake_writer._GroupCommitter._write(group)
    monkeypatch.undo()
    assert all(s.verdict is None and s.outcome is None for s in group)
    assert not Case.objects.exists()
    assert not IntakeBucket.objects.exists()


def test_duplicates_are_found_with_one_query():
    first = intake().case
    second = intake(a_number="", legal_name="Jose Luis Hernandez Ramirez").case
    third = intake(a_number="A 555 555 555", legal_name="Someone Else", date_of_birth=None).case
    elsewhere = intake(a_number="", country_of_birth="Honduras").case
    other_day = intake(a_number="", date_of_birth=date(1990, 1, 1)).case
    latest = intake().case
    with CaptureQueriesContext(connection) as queries:
        found = services.find_possible_duplicates(latest)
    assert len(queries) == 1
    assert found == [(first, DuplicateReason.A_NUMBER), (second, DuplicateReason.NAME_BIRTH)]
    assert not {third, elsewhere, other_day} & {case for case, _reason in found}


def test_the_duplicate_check_searches_the_blind_indexes_not_the_whole_table():
    if connection.vendor != "sqlite":
        pytest.skip("reads SQLite's query plan")
    for number in range(30):
        intake(legal_name=f"Persona {number}", a_number=f"A11111{number:04d}")
    merged = intake(legal_name="José Luis Hernández Ramírez").case
    kept = intake(legal_name="José Luis Hernández Ramírez", a_number="").case
    Case.objects.filter(pk=merged.pk).update(merged_into=kept)
    latest = intake(legal_name="José Luis Hernández Ramírez").case
    with CaptureQueriesContext(connection) as queries:
        found = services.find_possible_duplicates(latest)
    # The merged case shares the A-number but only the case it went into is named.
    assert found == [(kept, DuplicateReason.NAME_BIRTH)]
    (query,) = queries.captured_queries
    with connection.cursor() as cursor:
        sql = query["sql"]
        # The logged SQL has its parameters inlined; the plan is the same.
        cursor.execute("EXPLAIN QUERY PLAN " + sql)
        plan = " ".join(str(row[-1]) for row in cursor.fetchall())
    assert "a_number_index" in plan
    assert "date_of_birth_index" in plan
    assert "merged_into" not in plan
    assert "SCAN hotline_case" not in plan


def test_tokens_for_a_group_are_granted_in_order_as_far_as_the_bucket_holds():
    shape = BucketShape(capacity=2, refill_per_second=0.01)
    verdicts = take_tokens("g", shape, 3)
    assert [v.allowed for v in verdicts] == [True, True, False]
    assert 90 <= verdicts[2].retry_after_seconds <= 101
    assert IntakeBucket.objects.get(name="g").tokens < 0.01
    # The refusal is remembered: the next group is answered without the database.
    with CaptureQueriesContext(connection) as queries:
        assert not any(v.allowed for v in take_tokens("g", shape, 2))
    assert len(queries) == 0


def test_a_group_is_stored_with_one_statement_for_each_kind_of_row():
    group = submissions(3, BucketShape(capacity=10, refill_per_second=0.01))
    with CaptureQueriesContext(connection) as queries:
        intake_writer._GroupCommitter._write(group)
    sql = [query["sql"] for query in queries.captured_queries]
    for table in ("hotline_case", "hotline_intake", "hotline_statusevent", "audit_auditevent"):
        assert sum(s.startswith(f'INSERT INTO "{table}"') for s in sql) == 1, table
    assert sum(s.startswith('SELECT "hotline_case"') for s in sql) == 1
    assert sum(s.startswith("SAVEPOINT") for s in sql) == 1
    assert all(s.verdict is not None and s.verdict.allowed for s in group)
    stored = [s.outcome.case.pk for s in group if s.outcome is not None]
    assert sorted(stored) == stored
    assert len(stored) == 3
    for submission in group:
        assert submission.outcome is not None
        case = Case.objects.get(pk=submission.outcome.case.pk)
        assert submission.intake is not None
        assert case.legal_name == submission.intake.answers.legal_name
        assert Intake.objects.get(case=case).received_at == submission.intake.received_at
        assert StatusEvent.objects.get(case=case).status == "reported"
        assert AuditEvent.objects.filter(target=f"case:{case.pk}").count() == 1
    assert 6.9 < IntakeBucket.objects.get(name="together").tokens < 7.1


def test_in_a_group_a_later_intake_flags_the_earlier_ones_as_if_they_came_one_by_one():
    before = intake().case  # the factory's A-number
    group = submissions(3, BucketShape(capacity=10, refill_per_second=0.01))
    intake_writer._GroupCommitter._write(group)
    outcomes = [s.outcome for s in group if s.outcome is not None]
    assert len(outcomes) == 3
    flagged = [[(flag.other_id, flag.reason) for flag in o.duplicates] for o in outcomes]
    first, second, _third = (o.case.pk for o in outcomes)
    assert flagged[0] == [(before.pk, DuplicateReason.A_NUMBER)]
    assert flagged[1] == [(before.pk, DuplicateReason.A_NUMBER), (first, DuplicateReason.A_NUMBER)]
    assert flagged[2] == [
        (before.pk, DuplicateReason.A_NUMBER),
        (first, DuplicateReason.A_NUMBER),
        (second, DuplicateReason.A_NUMBER),
    ]
    # Each flag is raised on the later report; the earlier case is shown them from the other side.
    assert not DuplicateFlag.objects.filter(case=before).exists()
    assert services.open_duplicate_flags(before).count() == 3


def test_a_group_that_runs_out_of_tokens_stores_only_those_admitted():
    group = submissions(3, BucketShape(capacity=2, refill_per_second=0.01), a_number="")
    intake_writer._GroupCommitter._write(group)
    verdicts = [s.verdict for s in group if s.verdict is not None]
    assert [v.allowed for v in verdicts] == [True, True, False]
    assert group[2].outcome is None
    assert verdicts[2].retry_after_seconds >= 1
    assert Case.objects.count() == 2
