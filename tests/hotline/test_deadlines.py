from datetime import date, timedelta
from importlib import import_module

import pytest
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone, translation

from amparo.accounts.models import User
from amparo.accounts.roles import Role
from amparo.hotline import reminders, services
from amparo.hotline.models import (
    Case,
    CaseStatus,
    Deadline,
    DeadlineKind,
    DeadlineReminder,
    HearingKind,
)
from tests.hotline.factories import attorney, intake, person, signed_in
from tests.hotline.smtp_server import smtp_server  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("decided", "due"),
    [
        (date(2025, 1, 31), date(2025, 3, 2)),
        (date(2024, 2, 1), date(2024, 3, 2)),  # leap year
        (date(2025, 12, 15), date(2026, 1, 14)),
    ],
)
def test_bond_appeal_is_due_thirty_calendar_days_after_the_decision(decided, due):
    assert services.bond_appeal_due(decided) == due


def test_a_bond_decision_opens_the_appeal_deadline():
    lawyer = attorney("ana")
    case = intake().case
    services.record_hearing(
        case,
        lawyer,
        kind=HearingKind.BOND,
        court="Eloy Immigration Court",
        decision_date=date(2025, 6, 2),
        bond_outcome="denied",
    )
    deadline = case.deadlines.get()
    assert (deadline.kind, deadline.due_on) == (DeadlineKind.BOND_APPEAL, date(2025, 7, 2))
    case.refresh_from_db()
    assert case.status == CaseStatus.BOND_HEARING
    assert case.court == "Eloy Immigration Court"


def test_a_hearing_without_decision_opens_no_deadline():
    case = intake().case
    services.record_hearing(case, attorney("ana"), kind=HearingKind.MASTER)
    assert not case.deadlines.exists()


def test_deadlines_list_soonest_first_with_overdue_marked():
    lawyer = attorney("ana")
    today = date(2025, 6, 10)
    for days_ago in (5, 40, 20):
        services.record_hearing(
            intake(a_number="", legal_name=f"Person {days_ago}").case,
            lawyer,
            kind=HearingKind.BOND,
            decision_date=today - timedelta(days=days_ago),
            bond_outcome="denied",
        )
    rows = services.upcoming_deadlines(today=today)
    assert [row.days_left for row in rows] == [-10, 10, 25]
    assert [row.overdue for row in rows] == [True, False, False]
    services.mark_deadline_done(rows[0].deadline)
    assert [row.days_left for row in services.upcoming_deadlines(today=today)] == [10, 25]


@pytest.mark.parametrize(
    ("days_left", "lead"), [(30, None), (14, 14), (10, 14), (7, 7), (2, 3), (1, 1), (0, 0), (-3, 0)]
)
def test_reminder_lead(days_left, lead):
    assert reminders.lead_for(days_left) == lead


def test_reminders_reach_attorney_and_coordinator_once(smtp_server):  # noqa: F811
    lawyer = attorney("ana")
    person("coord", Role.COORDINATOR)
    case = intake().case
    case.assigned_attorney = lawyer
    case.save()
    decided = date(2025, 6, 1)
    services.record_hearing(
        case, lawyer, kind=HearingKind.BOND, decision_date=decided, bond_outcome="denied"
    )
    today = services.bond_appeal_due(decided) - timedelta(days=6)

    first = reminders.send_deadline_reminders(today=today)
    second = reminders.send_deadline_reminders(today=today)

    assert (first.sent, second.sent) == (2, 0)
    assert sorted(m["To"] for m in smtp_server.messages) == [
        "ana@example.org",
        "coord@example.org",
    ]
    assert "2025-07-01" in smtp_server.messages[0]["Subject"]
    assert DeadlineReminder.objects.filter(days_before=7).count() == 2
    assert reminders.send_deadline_reminders(today=today + timedelta(days=4)).sent == 2


def test_the_command_is_idempotent(smtp_server, capsys):  # noqa: F811
    person("coord", Role.COORDINATOR)
    case = intake().case
    services.record_hearing(
        case,
        attorney("ana"),
        kind=HearingKind.BOND,
        decision_date=date.today() - timedelta(days=29),
        bond_outcome="denied",
    )
    call_command("senddeadlinereminders")
    call_command("senddeadlinereminders")
    assert len(smtp_server.messages) == 1
    assert "reminders sent: 1" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("language", "days_left", "said"),
    [
        ("en", 6, "Appeal by Tuesday 2025-07-01 (6 days left)."),
        ("en", 1, "Appeal by Tuesday 2025-07-01 (1 day left)."),
        ("en", 0, "Appeal is due today, Tuesday 2025-07-01."),
        ("en", -2, "OVERDUE: Appeal was due Tuesday 2025-07-01, 2 days ago."),
        ("en", -1, "OVERDUE: Appeal was due Tuesday 2025-07-01, 1 day ago."),
        ("es", 6, "Apelación: vence el martes 2025-07-01 (quedan 6 días)."),
        ("es", 1, "Apelación: vence el martes 2025-07-01 (queda 1 día)."),
        ("es", 0, "Apelación: vence hoy, martes 2025-07-01."),
        ("es", -3, "VENCIDO: Apelación venció el martes 2025-07-01, hace 3 días."),
        ("ar", 1, "استئناف: الموعد يوم الثلاثاء 2025-07-01 (يتبقى 1 يوم)."),
        ("ar", 2, "استئناف: الموعد يوم الثلاثاء 2025-07-01 (يتبقى 2 يوم)."),
        ("ar", 5, "استئناف: الموعد يوم الثلاثاء 2025-07-01 (تتبقى 5 أيام)."),
        ("ar", 11, "استئناف: الموعد يوم الثلاثاء 2025-07-01 (يتبقى 11 يومًا)."),
        ("ar", -2, "متأخر: كان موعد استئناف يوم الثلاثاء 2025-07-01، قبل 2 يوم."),
    ],
)
def test_a_reminder_says_the_weekday_and_counts_days_in_its_language(language, days_left, said):
    with translation.override(language):
        kind = {"en": "Appeal", "es": "Apelación", "ar": "استئناف"}[language]
        assert reminders._when_due(kind, date(2025, 7, 1), days_left) == said


def appeal_due_on_tuesday_1_july_2025() -> tuple[User, Case]:
    """A case with its attorney and a bond appeal due on Tuesday 1 July 2025."""
    lawyer = attorney("ana")
    case = intake().case
    case.assigned_attorney = lawyer
    case.save()
    services.record_hearing(
        case, lawyer, kind=HearingKind.BOND, decision_date=date(2025, 6, 1), bond_outcome="denied"
    )
    return lawyer, case


def test_a_reminder_and_the_case_page_give_the_due_dates_weekday(smtp_server):  # noqa: F811
    lawyer, case = appeal_due_on_tuesday_1_july_2025()
    reminders.send_deadline_reminders(today=date(2025, 6, 25))
    (message,) = smtp_server.messages
    assert "by Tuesday 2025-07-01 (6 days left)." in message.get_content()
    page = signed_in(lawyer).get(reverse("hotline:case", args=[case.pk])).content.decode()
    assert '<time datetime="2025-07-01">2025-07-01</time> (Tuesday)' in page


@pytest.mark.parametrize(
    ("today", "said"),
    [
        (date(2025, 6, 25), "<td>6</td>"),
        (date(2025, 7, 1), "<strong>Due today</strong>"),
        (date(2025, 7, 2), "<strong>OVERDUE</strong> (1 day late)"),
        (date(2025, 7, 4), "<strong>OVERDUE</strong> (3 days late)"),
    ],
)
def test_the_deadline_list_says_how_late_in_words(monkeypatch, today, said):
    lawyer, case = appeal_due_on_tuesday_1_july_2025()
    monkeypatch.setattr(timezone, "localdate", lambda: today)
    page = signed_in(lawyer).get(reverse("hotline:case", args=[case.pk])).content.decode()
    assert said in page
    assert "(-" not in page


def test_the_outcome_is_named_in_the_readers_language_not_the_recorders():
    lawyer, case = appeal_due_on_tuesday_1_july_2025()
    deadline = case.deadlines.get()
    assert deadline.description == ""  # nothing written in the recorder's language
    client = signed_in(lawyer)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"
    page = client.get(reverse("hotline:case", args=[case.pk])).content.decode()
    assert "(Fianza negada)" in page
    assert "Bond denied" not in page


def test_the_migration_clears_outcomes_written_in_one_language():
    _lawyer, case = appeal_due_on_tuesday_1_july_2025()
    Deadline.objects.update(description="Bond denied")
    other = Deadline.objects.create(
        case=case, kind=DeadlineKind.OTHER, due_on=date(2025, 8, 1), description="File FOIA"
    )
    migration = import_module("amparo.hotline.migrations.0009_deadline_outcome_from_hearing")
    migration.clear_written_outcomes(apps, None)
    assert case.deadlines.get(kind=DeadlineKind.BOND_APPEAL).description == ""
    other.refresh_from_db()
    assert other.description == "File FOIA"  # what a person wrote stays
