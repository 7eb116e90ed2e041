"""Training decisions: grading, attendance, certification with expiry, and who is eligible.

Deployments ask `is_certified(user, at)`; everything else here explains that answer.
"""

from __future__ import annotations

import calendar
import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from amparo.accounts.models import User
from amparo.accounts.roles import Role
from amparo.notify.mail import send_email
from amparo.training.models import (
    Attendance,
    Certification,
    CertificationDecision,
    CertificationReminder,
    Course,
    CourseKind,
    Event,
    Question,
    QuizAttempt,
)

DEFAULT_CERTIFICATION_MONTHS = 12
REMINDER_DAYS_BEFORE_EXPIRY = 30
LAPSE_WARNING_DAYS = 60


def certification_months() -> int:
    """How long a certification lasts; a network sets AMPARO_CERTIFICATION_MONTHS."""
    return int(getattr(settings, "AMPARO_CERTIFICATION_MONTHS", DEFAULT_CERTIFICATION_MONTHS))


def add_months(moment: datetime, months: int) -> datetime:
    month_index = moment.month - 1 + months
    year = moment.year + month_index // 12
    month = month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


# --- Content in several languages -------------------------------------------------------


def pick_language(available: Iterable[str], wanted: str | None, fallback: str) -> str:
    """The wanted language if the content exists in it, else the fallback, else any."""
    offered = list(available)
    for candidate in (wanted, (wanted or "").split("-")[0], fallback):
        if candidate and candidate in offered:
            return candidate
    return offered[0] if offered else fallback


def course_languages(course: Course) -> list[str]:
    return sorted(course.translations.values_list("language", flat=True))


def translated(items: Iterable[Any], language: str, fallback: str) -> Any:
    """The item in `language`, else in `fallback`, else the first; None if there are none."""
    by_language = {item.language: item for item in items}
    return (
        by_language.get(language)
        or by_language.get(fallback)
        or next(iter(by_language.values()), None)
    )


def course_title(course: Course, language: str) -> str:
    found = translated(course.translations.all(), language, course.default_language)
    return found.title if found else _("Untitled course")


# --- Quizzes -------------------------------------------------------------------------------


class QuizNotReady(ValueError):
    """A quiz with no questions cannot be taken."""


@transaction.atomic
def grade_quiz(
    user: User,
    course: Course,
    language: str,
    answers: Mapping[int, int | None],
    at: datetime | None = None,
) -> QuizAttempt:
    """Record one attempt: `answers` maps question id to the chosen choice number (1-based)."""
    now = at or timezone.now()
    questions = list(course.questions.all())
    if not questions:
        raise QuizNotReady(_("This course has no quiz questions yet."))
    correct = sum(1 for q in questions if answers.get(q.pk) == q.correct_choice)
    passed = 100 * correct >= course.pass_mark_percent * len(questions)
    attempt = QuizAttempt.objects.create(
        user=user,
        course=course,
        language=language,
        submitted_at=now,
        correct_count=correct,
        question_count=len(questions),
        passed=passed,
    )
    attempt.answers.bulk_create(
        [
            attempt.answers.model(
                attempt=attempt,
                question=question,
                chosen=answers.get(question.pk),
                correct=answers.get(question.pk) == question.correct_choice,
            )
            for question in questions
        ]
    )
    if passed:
        try_certify(user, course, now)
    return attempt


def question_count(course: Course) -> int:
    return Question.objects.filter(course=course).count()


# --- Attendance and certification -----------------------------------------------------------


class NotAllowed(ValueError):
    """The person asking may not make this decision."""


@transaction.atomic
def confirm_attendance(
    trainer: User,
    observer: User,
    course: Course,
    *,
    event: Event | None = None,
    at: datetime | None = None,
) -> Attendance:
    """A trainer confirms that an observer attended an in-person session of this course."""
    if trainer.role not in {Role.TRAINER, Role.COORDINATOR}:
        raise NotAllowed(_("Only a trainer or coordinator can confirm attendance."))
    if trainer.pk == observer.pk:
        raise NotAllowed(_("Nobody can confirm their own attendance."))
    now = at or timezone.now()
    attendance = Attendance.objects.create(
        user=observer, course=course, event=event, confirmed_by=trainer, confirmed_at=now
    )
    try_certify(observer, course, now)
    return attendance


def _latest_expiry(user: User, course: Course, at: datetime) -> datetime | None:
    found = Certification.objects.filter(user=user, course=course, decided_at__lte=at).aggregate(
        latest=Max("expires_at")
    )["latest"]
    return found if isinstance(found, datetime) else None


def try_certify(user: User, course: Course, at: datetime) -> Certification | None:
    """Certify when a passed quiz and a confirmed attendance, not yet used, are both there.

    A refresher needs only its quiz, and renews a certification the person already had.
    """
    attempt = (
        QuizAttempt.objects.filter(
            user=user, course=course, passed=True, certification__isnull=True
        )
        .order_by("-submitted_at", "-id")
        .first()
    )
    if attempt is None:
        return None
    months = certification_months()
    if course.kind == CourseKind.REFRESHER:
        base = course.refreshes
        if base is None:
            return None
        previous = _latest_expiry(user, base, at)
        if previous is None:
            return None
        return Certification.objects.create(
            user=user,
            course=base,
            decision=CertificationDecision.RENEWED,
            decided_at=at,
            expires_at=add_months(max(previous, at), months),
            trainer=None,
            attempt=attempt,
        )
    attendance = (
        Attendance.objects.filter(user=user, course=course, certification__isnull=True)
        .order_by("-confirmed_at", "-id")
        .first()
    )
    if attendance is None:
        return None
    return Certification.objects.create(
        user=user,
        course=course,
        decision=CertificationDecision.CERTIFIED,
        decided_at=at,
        expires_at=add_months(at, months),
        trainer=attendance.confirmed_by,
        attempt=attempt,
        attendance=attendance,
    )


class CertificationState(enum.StrEnum):
    CURRENT = "current"
    LAPSING = "lapsing"
    LAPSED = "lapsed"
    NEVER = "never"


@dataclass(frozen=True)
class CertificationStatus:
    state: CertificationState
    expires_at: datetime | None

    @property
    def eligible(self) -> bool:
        return self.state in {CertificationState.CURRENT, CertificationState.LAPSING}

    @property
    def label(self) -> str:
        labels = {
            CertificationState.CURRENT: _("Certified"),
            CertificationState.LAPSING: _("Certified, lapses soon"),
            CertificationState.LAPSED: _("Lapsed"),
            CertificationState.NEVER: _("Not certified"),
        }
        return labels[self.state]


def certification_status(user: User, at: datetime | None = None) -> CertificationStatus:
    """Where a person stands at `at` (now by default): current, lapsing within 60 days, ..."""
    now = at or timezone.now()
    latest = (
        Certification.objects.filter(user=user, decided_at__lte=now)
        .order_by("-expires_at")
        .values_list("expires_at", flat=True)
        .first()
    )
    if latest is None:
        return CertificationStatus(CertificationState.NEVER, None)
    if not user.is_active or latest <= now:
        return CertificationStatus(CertificationState.LAPSED, latest)
    if latest <= now + timedelta(days=LAPSE_WARNING_DAYS):
        return CertificationStatus(CertificationState.LAPSING, latest)
    return CertificationStatus(CertificationState.CURRENT, latest)


def is_certified(user: User, at: datetime | None = None) -> bool:
    """Whether this person may be put on a deployment roster or file an observer report now."""
    return certification_status(user, at).eligible


@dataclass(frozen=True)
class RosterEntry:
    user: User
    status: CertificationStatus


def observer_roster(at: datetime | None = None) -> list[RosterEntry]:
    """Every active observer with their certification status, soonest expiry first."""
    now = at or timezone.now()
    entries = [
        RosterEntry(user, certification_status(user, now))
        for user in User.objects.filter(role=Role.OBSERVER, is_active=True).order_by("username")
    ]
    far_future = now + timedelta(days=365 * 100)
    return sorted(
        entries,
        key=lambda e: (not e.status.eligible, e.status.expires_at or far_future, e.user.username),
    )


# --- Certification records as CSV --------------------------------------------------------------

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(cell: object) -> str:
    """A cell a spreadsheet will show as text, never run as a formula."""
    text = "" if cell is None else str(cell)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


CSV_HEADER = (
    "decision_id",
    "decided_at",
    "decision",
    "observer",
    "observer_name",
    "course_id",
    "course",
    "trainer",
    "quiz_score_percent",
    "attendance_confirmed_at",
    "expires_at",
)


def certification_rows() -> list[list[str]]:
    rows = [list(CSV_HEADER)]
    decisions = Certification.objects.select_related(
        "user", "course", "trainer", "attempt", "attendance"
    ).order_by("decided_at", "id")
    for decision in decisions:
        attendance = decision.attendance
        values: list[object] = [
            decision.pk,
            _rfc3339(decision.decided_at),
            decision.decision,
            decision.user.username,
            decision.user.display_name,
            decision.course_id,
            course_title(decision.course, decision.course.default_language),
            decision.trainer.username if decision.trainer else "",
            decision.attempt.score_percent,
            _rfc3339(attendance.confirmed_at) if attendance else "",
            _rfc3339(decision.expires_at),
        ]
        rows.append([csv_safe(value) for value in values])
    return rows


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- Expiry reminders -------------------------------------------------------------------------


def send_certification_reminders(at: datetime | None = None) -> int:
    """Email each person whose certification ends within 30 days, once. Returns how many."""
    now = at or timezone.now()
    horizon = now + timedelta(days=REMINDER_DAYS_BEFORE_EXPIRY)
    due = Certification.objects.filter(
        decided_at__lte=now, expires_at__gt=now, expires_at__lte=horizon, reminder__isnull=True
    ).select_related("user", "course")
    sent = 0
    for certification in due:
        user = certification.user
        if not user.is_active or not user.email:
            continue
        # A renewal made since then pushes the expiry out; remind only about the latest one.
        if _latest_expiry(user, certification.course, now) != certification.expires_at:
            continue
        with transaction.atomic():
            # Recorded first and committed with the send, so a failed send is retried and a
            # second run never sends twice.
            CertificationReminder.objects.create(
                certification=certification, sent_at=now, channel="email"
            )
            language = user.preferred_language or settings.LANGUAGE_CODE
            with translation.override(language):
                context = {
                    "user": user,
                    "course_title": course_title(certification.course, language),
                    "expires_at": certification.expires_at,
                    "network_name": settings.NETWORK_NAME,
                    "site_url": settings.SITE_URL,
                }
                subject = _("Your observer certification ends soon")
                text = render_to_string("training/email/certification_reminder.txt", context)
            send_email(user.email, subject, text)
        sent += 1
    return sent
