"""Named people and small courses for training tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from amparo.accounts.models import User
from amparo.accounts.roles import Role
from amparo.training.models import (
    Course,
    CourseKind,
    CourseTranslation,
    Event,
    EventKind,
    Module,
    ModuleTranslation,
    Question,
    QuestionTranslation,
)

JAN_1 = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


def person(username: str, role: Role = Role.OBSERVER, email: str = "") -> User:
    return User.objects.create_user(
        username=username, role=role, email=email or f"{username}@example.org"
    )


def course_with_quiz(
    questions: int = 4,
    pass_mark: int = 75,
    kind: CourseKind = CourseKind.CERTIFICATION,
    refreshes: Course | None = None,
) -> Course:
    course = Course.objects.create(
        kind=kind, refreshes=refreshes, pass_mark_percent=pass_mark, published=True
    )
    CourseTranslation.objects.create(course=course, language="en", title="Observing")
    CourseTranslation.objects.create(course=course, language="es", title="Observar")
    module = Module.objects.create(course=course, position=1)
    ModuleTranslation.objects.create(module=module, language="en", title="One", body="Watch.")
    ModuleTranslation.objects.create(module=module, language="es", title="Uno", body="Mire.")
    for number in range(1, questions + 1):
        question = Question.objects.create(course=course, position=number, correct_choice=2)
        for language in ("en", "es"):
            QuestionTranslation.objects.create(
                question=question,
                language=language,
                prompt=f"Q{number} {language}",
                choices=["a", "b", "c"],
                explanation=f"because {number}",
            )
    return course


def answers(course: Course, right: int) -> dict[int, int | None]:
    """Answer the first `right` questions correctly and the rest wrongly."""
    chosen: dict[int, int | None] = {}
    for index, question in enumerate(course.questions.all()):
        chosen[question.pk] = question.correct_choice if index < right else 1
    return chosen


def event(
    capacity: int = 2,
    starts_at: datetime = JAN_1 + timedelta(days=10),
    kind: EventKind = EventKind.TEACH_IN,
    course: Course | None = None,
) -> Event:
    return Event.objects.create(
        kind=kind,
        course=course,
        title="Know your rights",
        languages="en,es",
        place="Library, room 2",
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=2),
        capacity=capacity,
    )
