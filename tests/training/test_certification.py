from __future__ import annotations

import csv
import io
from datetime import timedelta
from unittest import mock

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from amparo.accounts.roles import Role
from amparo.training.models import (
    Certification,
    CertificationDecision,
    CertificationReminder,
    CourseKind,
    QuizAttempt,
)
from amparo.training.services import (
    CSV_HEADER,
    CertificationState,
    NotAllowed,
    QuizNotReady,
    add_months,
    certification_rows,
    certification_status,
    confirm_attendance,
    csv_safe,
    grade_quiz,
    is_certified,
    observer_roster,
    send_certification_reminders,
)
from tests.notify.loopback import SmtpInbox
from tests.training.factories import JAN_1, answers, course_with_quiz, person

pytestmark = pytest.mark.django_db


def test_grading_records_every_attempt_and_applies_the_pass_mark() -> None:
    observer = person("olga")
    course = course_with_quiz(questions=4, pass_mark=75)
    failed = grade_quiz(observer, course, "es", answers(course, right=2), at=JAN_1)
    passed = grade_quiz(observer, course, "es", answers(course, right=3), at=JAN_1)
    assert (failed.passed, failed.correct_count, failed.score_percent) == (False, 2, 50)
    assert (passed.passed, passed.correct_count, passed.score_percent) == (True, 3, 75)
    assert QuizAttempt.objects.filter(user=observer, course=course).count() == 2
    assert passed.language == "es"
    assert [a.correct for a in passed.answers.all()] == [True, True, True, False]


def test_unanswered_questions_count_as_wrong() -> None:
    observer = person("olga")
    course = course_with_quiz(questions=2, pass_mark=50)
    attempt = grade_quiz(observer, course, "en", {}, at=JAN_1)
    assert attempt.correct_count == 0
    assert not attempt.passed


def test_a_quiz_without_questions_cannot_be_taken() -> None:
    course = course_with_quiz(questions=0)
    with pytest.raises(QuizNotReady):
        grade_quiz(person("olga"), course, "en", {}, at=JAN_1)


def test_quiz_alone_does_not_certify() -> None:
    observer = person("olga")
    course = course_with_quiz()
    grade_quiz(observer, course, "en", answers(course, right=4), at=JAN_1)
    assert not is_certified(observer, at=JAN_1)
    assert certification_status(observer, JAN_1).state == CertificationState.NEVER


def test_attendance_alone_does_not_certify() -> None:
    observer, trainer = person("olga"), person("tomas", Role.TRAINER)
    course = course_with_quiz()
    confirm_attendance(trainer, observer, course, at=JAN_1)
    assert not is_certified(observer, at=JAN_1)


@pytest.mark.parametrize("attendance_first", [True, False])
def test_quiz_and_attendance_certify_for_twelve_months(attendance_first: bool) -> None:
    observer, trainer = person("olga"), person("tomas", Role.TRAINER)
    course = course_with_quiz()
    if attendance_first:
        confirm_attendance(trainer, observer, course, at=JAN_1)
        grade_quiz(observer, course, "es", answers(course, right=4), at=JAN_1)
    else:
        grade_quiz(observer, course, "es", answers(course, right=4), at=JAN_1)
        confirm_attendance(trainer, observer, course, at=JAN_1)
    decision = Certification.objects.get(user=observer)
    assert decision.decision == CertificationDecision.CERTIFIED
    assert decision.trainer == trainer
    assert decision.course == course
    assert decision.decided_at == JAN_1
    assert decision.expires_at == JAN_1.replace(year=2026)
    assert is_certified(observer, at=JAN_1 + timedelta(days=364))
    assert not is_certified(observer, at=JAN_1.replace(year=2026))


def test_a_failed_quiz_does_not_certify_even_with_attendance() -> None:
    observer, trainer = person("olga"), person("tomas", Role.TRAINER)
    course = course_with_quiz(questions=4, pass_mark=75)
    confirm_attendance(trainer, observer, course, at=JAN_1)
    grade_quiz(observer, course, "en", answers(course, right=1), at=JAN_1)
    assert not is_certified(observer, at=JAN_1)


@override_settings(AMPARO_CERTIFICATION_MONTHS=6)
def test_a_network_sets_its_own_validity() -> None:
    observer, trainer = person("olga"), person("tomas", Role.TRAINER)
    course = course_with_quiz()
    confirm_attendance(trainer, observer, course, at=JAN_1)
    grade_quiz(observer, course, "en", answers(course, right=4), at=JAN_1)
    assert Certification.objects.get().expires_at == JAN_1.replace(month=7)


def test_observers_cannot_confirm_attendance() -> None:
    course = course_with_quiz()
    with pytest.raises(NotAllowed):
        confirm_attendance(person("olga"), person("omar"), course, at=JAN_1)
    trainer = person("tomas", Role.TRAINER)
    with pytest.raises(NotAllowed):
        confirm_attendance(trainer, trainer, course, at=JAN_1)


def test_lapsed_certification_needs_new_quiz_and_attendance() -> None:
    observer, trainer = person("olga"), person("tomas", Role.TRAINER)
    course = course_with_quiz()
    confirm_attendance(trainer, observer, course, at=JAN_1)
    grade_quiz(observer, course, "en", answers(course, right=4), at=JAN_1)
    later = JAN_1.replace(year=2026) + timedelta(days=5)
    # A new pass alone must not reuse the attendance that the first certification used.
    grade_quiz(observer, course, "en", answers(course, right=4), at=later)
    assert not is_certified(observer, at=later)
    confirm_attendance(trainer, observer, course, at=later)
    assert is_certified(observer, at=later)


def test_decisions_cannot_be_rewritten() -> None:
    observer, trainer = person("olga"), person("tomas", Role.TRAINER)
    course = course_with_quiz()
    confirm_attendance(trainer, observer, course, at=JAN_1)
    grade_quiz(observer, course, "en", answers(course, right=4), at=JAN_1)
    decision = Certification.objects.get()
    decision.expires_at = JAN_1.replace(year=2030)
    with pytest.raises(RuntimeError, match="never changed"):
        decision.save()


def certify(username: str, at=JAN_1, email: str = ""):
    observer = person(username, email=email)
    trainer, _ = type(observer).objects.get_or_create(username="tomas", role=Role.TRAINER)
    course = course_with_quiz()
    confirm_attendance(trainer, observer, course, at=at)
    grade_quiz(observer, course, "en", answers(course, right=4), at=at)
    return observer, course


def test_refresher_renews_from_the_current_expiry() -> None:
    observer, course = certify("olga")
    refresher = course_with_quiz(kind=CourseKind.REFRESHER, refreshes=course)
    eleven_months = add_months(JAN_1, 11)
    grade_quiz(observer, refresher, "en", answers(refresher, right=4), at=eleven_months)
    renewal = Certification.objects.get(decision=CertificationDecision.RENEWED)
    assert renewal.course == course
    assert renewal.trainer is None
    assert renewal.expires_at == JAN_1.replace(year=2027)
    assert is_certified(observer, at=JAN_1.replace(year=2026) + timedelta(days=100))


def test_refresher_without_a_prior_certification_does_nothing() -> None:
    observer = person("olga")
    course = course_with_quiz()
    refresher = course_with_quiz(kind=CourseKind.REFRESHER, refreshes=course)
    grade_quiz(observer, refresher, "en", answers(refresher, right=4), at=JAN_1)
    assert not Certification.objects.exists()


def test_status_moves_from_current_to_lapsing_to_lapsed() -> None:
    observer, _ = certify("olga")
    expiry = JAN_1.replace(year=2026)
    assert certification_status(observer, JAN_1).state == CertificationState.CURRENT
    assert certification_status(observer, expiry - timedelta(days=59)).state == "lapsing"
    assert is_certified(observer, at=expiry - timedelta(seconds=1))
    lapsed = certification_status(observer, expiry)
    assert lapsed.state == CertificationState.LAPSED
    assert lapsed.expires_at == expiry
    assert not lapsed.eligible


def test_a_disabled_account_is_not_certified() -> None:
    observer, _ = certify("olga")
    observer.is_active = False
    observer.save()
    assert not is_certified(observer, at=JAN_1 + timedelta(days=1))


def test_is_certified_uses_the_real_clock_by_default() -> None:
    observer, _ = certify("olga", at=timezone.now() - timedelta(days=1))
    assert is_certified(observer)
    with mock.patch("django.utils.timezone.now", return_value=timezone.now() + timedelta(days=400)):
        assert not is_certified(observer)


def test_roster_lists_every_observer_soonest_expiry_first() -> None:
    certify("early", at=JAN_1)
    certify("late", at=JAN_1 + timedelta(days=90))
    person("never")
    person("tina", Role.TRAINER)
    at = JAN_1.replace(year=2026) - timedelta(days=30)
    roster = observer_roster(at)
    assert [entry.user.username for entry in roster] == ["early", "late", "never"]
    assert [entry.status.state for entry in roster] == ["lapsing", "current", "never"]


def test_csv_records_every_decision_with_trainer_and_course() -> None:
    _observer, course = certify("olga")
    rows = list(csv.reader(io.StringIO("\n".join(",".join(r) for r in certification_rows()))))
    header, row = rows
    record = dict(zip(header, row, strict=True))
    assert record["observer"] == "olga"
    assert record["trainer"] == "tomas"
    assert record["course_id"] == str(course.pk)
    assert record["decided_at"] == "2025-01-01T12:00:00Z"
    assert record["expires_at"] == "2026-01-01T12:00:00Z"
    assert record["decision"] == "certified"
    assert record["quiz_score_percent"] == "100"


@pytest.mark.parametrize("cell", ["=HYPERLINK(1)", "+1", "-2+3", "@SUM(A1)", "\t=1"])
def test_csv_cells_that_look_like_formulas_are_quoted(cell: str) -> None:
    assert csv_safe(cell) == "'" + cell


def test_csv_injection_through_a_display_name_is_defused() -> None:
    observer, _ = certify("olga")
    observer.display_name = '=HYPERLINK("http://x.example","click")'
    observer.save()
    [_, row] = certification_rows()
    assert row[CSV_HEADER.index("observer_name")] == "'" + observer.display_name


def test_reminder_goes_out_thirty_days_before_expiry_once(smtp_inbox: SmtpInbox) -> None:
    observer, _ = certify("olga", email="olga@example.org")
    expiry = JAN_1.replace(year=2026)
    assert send_certification_reminders(at=expiry - timedelta(days=31)) == 0
    assert smtp_inbox.messages == []
    assert send_certification_reminders(at=expiry - timedelta(days=30)) == 1
    assert send_certification_reminders(at=expiry - timedelta(days=29)) == 0
    [message] = smtp_inbox.to("olga@example.org")
    assert "ends soon" in message["Subject"]
    assert CertificationReminder.objects.get().sent_at == expiry - timedelta(days=30)
    # Past expiry: no longer eligible, and the reminder was sent 30 days before.
    assert not is_certified(observer, at=expiry + timedelta(seconds=1))


def test_reminder_is_in_the_persons_language(smtp_inbox: SmtpInbox) -> None:
    observer, _ = certify("olga", email="olga@example.org")
    observer.preferred_language = "es"
    observer.save()
    send_certification_reminders(at=JAN_1.replace(year=2026) - timedelta(days=10))
    [message] = smtp_inbox.messages
    body = message.get_body(("plain",))
    assert body is not None
    assert "Observar" in body.get_content()


def test_no_reminder_after_a_renewal(smtp_inbox: SmtpInbox) -> None:
    observer, course = certify("olga", email="olga@example.org")
    refresher = course_with_quiz(kind=CourseKind.REFRESHER, refreshes=course)
    grade_quiz(observer, refresher, "en", answers(refresher, right=4), at=add_months(JAN_1, 10))
    send_certification_reminders(at=JAN_1.replace(year=2026) - timedelta(days=10))
    assert smtp_inbox.messages == []


def test_sendreminders_command_is_safe_to_repeat(smtp_inbox: SmtpInbox) -> None:
    now = timezone.now()
    certify("olga", at=add_months(now, -12) + timedelta(days=20), email="olga@example.org")
    out = io.StringIO()
    call_command("sendreminders", stdout=out)
    call_command("sendreminders", stdout=out)
    assert len(smtp_inbox.messages) == 1
    assert "Sent 1 certification reminder(s)" in out.getvalue()
    assert "Sent 0 certification reminder(s)" in out.getvalue()


def test_a_failed_send_is_retried_next_time(smtp_inbox: SmtpInbox) -> None:
    certify("olga", email="olga@example.org")
    at = JAN_1.replace(year=2026) - timedelta(days=10)
    with (
        mock.patch("amparo.training.services.send_email", side_effect=OSError("down")),
        pytest.raises(OSError, match="down"),
    ):
        send_certification_reminders(at=at)
    assert not CertificationReminder.objects.exists()
    assert send_certification_reminders(at=at) == 1
