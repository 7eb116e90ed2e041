"""Courses, quizzes, certification decisions, and teach-in events with their RSVPs."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from amparo.training.storage import attachment_storage


def new_token() -> str:
    return secrets.token_urlsafe(24)


class CourseKind(models.TextChoices):
    CERTIFICATION = "certification", _("Certification course")
    REFRESHER = "refresher", _("Refresher course")


class Course(models.Model):
    """A course is written in one or more languages; its quiz decides who passes."""

    slug = models.SlugField(max_length=80, unique=True, null=True, blank=True)
    kind = models.CharField(
        _("kind"), max_length=16, choices=CourseKind.choices, default=CourseKind.CERTIFICATION
    )
    # A refresher renews certification in the course it refreshes.
    refreshes = models.ForeignKey(
        "self",
        verbose_name=_("refreshes"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="refreshers",
    )
    default_language = models.CharField(_("default language"), max_length=8, default="en")
    pass_mark_percent = models.PositiveSmallIntegerField(_("pass mark (percent)"), default=80)
    published = models.BooleanField(_("published"), default=False)
    # Draft content the network's attorneys have not yet reviewed says so on every page.
    needs_legal_review = models.BooleanField(
        _("awaiting review by the network's attorneys"), default=False
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"course {self.pk}"


class CourseTranslation(models.Model):
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="translations")
    language = models.CharField(_("language"), max_length=8)
    title = models.CharField(_("title"), max_length=200)
    summary = models.TextField(_("summary"), blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["course", "language"], name="course_translation_once")
        ]

    def __str__(self) -> str:
        return self.title


class Module(models.Model):
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="modules")
    position = models.PositiveSmallIntegerField(_("position"), default=1)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"module {self.pk} of course {self.course_id}"


class ModuleTranslation(models.Model):
    module = models.ForeignKey(Module, on_delete=models.CASCADE, related_name="translations")
    language = models.CharField(_("language"), max_length=8)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text (Markdown)"), blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["module", "language"], name="module_translation_once")
        ]

    def __str__(self) -> str:
        return self.title


class AttachmentKind(models.TextChoices):
    PDF = "pdf", _("PDF handout")
    AUDIO = "audio", _("Audio recording")


class Attachment(models.Model):
    """A handout or recording for one module, in one language (or blank: any language)."""

    module = models.ForeignKey(Module, on_delete=models.CASCADE, related_name="attachments")
    language = models.CharField(_("language"), max_length=8, blank=True)
    kind = models.CharField(_("kind"), max_length=8, choices=AttachmentKind.choices)
    content_type = models.CharField(max_length=64)
    title = models.CharField(_("title"), max_length=200)
    file = models.FileField(storage=attachment_storage, upload_to="training/%Y/%m/")
    size = models.PositiveBigIntegerField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.title


class Question(models.Model):
    """A multiple-choice question; which choice is right does not depend on the language."""

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="questions")
    position = models.PositiveSmallIntegerField(_("position"), default=1)
    correct_choice = models.PositiveSmallIntegerField(_("number of the correct choice"))

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"question {self.pk} of course {self.course_id}"


class QuestionTranslation(models.Model):
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="translations")
    language = models.CharField(_("language"), max_length=8)
    prompt = models.TextField(_("question"))
    # The choices in order; the same number of them in every language.
    choices = models.JSONField(_("choices"), default=list)
    explanation = models.TextField(_("explanation"), blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["question", "language"], name="question_translation_once"
            )
        ]

    def __str__(self) -> str:
        return self.prompt[:60]


class QuizAttempt(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="quiz_attempts"
    )
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="attempts")
    language = models.CharField(max_length=8)
    submitted_at = models.DateTimeField(default=timezone.now)
    correct_count = models.PositiveSmallIntegerField()
    question_count = models.PositiveSmallIntegerField()
    passed = models.BooleanField()

    class Meta:
        ordering = ["-submitted_at", "-id"]

    def __str__(self) -> str:
        return f"attempt {self.pk}"

    @property
    def score_percent(self) -> int:
        if not self.question_count:
            return 0
        return round(100 * self.correct_count / self.question_count)


class AttemptAnswer(models.Model):
    attempt = models.ForeignKey(QuizAttempt, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="+")
    chosen = models.PositiveSmallIntegerField(null=True)
    correct = models.BooleanField()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"answer {self.pk}"


class EventKind(models.TextChoices):
    TEACH_IN = "teach-in", _("Know-your-rights teach-in")
    TRAINING = "training", _("In-person training session")


class Event(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(_("kind"), max_length=16, choices=EventKind.choices)
    # For a training session: whose attendance counts toward which course.
    course = models.ForeignKey(
        Course,
        verbose_name=_("course"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="events",
    )
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    languages = models.CharField(_("languages"), max_length=100)
    place = models.CharField(_("place"), max_length=300, blank=True)
    online_link = models.URLField(_("online link"), blank=True)
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    capacity = models.PositiveIntegerField(_("capacity"))
    accessibility_notes = models.TextField(_("accessibility"), blank=True)
    published = models.BooleanField(_("published"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["starts_at", "id"]

    def __str__(self) -> str:
        return self.title


class RsvpStatus(models.TextChoices):
    CONFIRMED = "confirmed", _("Confirmed")
    WAITING = "waiting", _("Waiting list")
    CANCELLED = "cancelled", _("Cancelled")


class Rsvp(models.Model):
    """One person's place at an event. Personal fields are blanked after the retention period.

    No IP address or user agent is kept. The tokens are random and carry nothing personal.
    """

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="rsvps")
    name = models.CharField(_("name or alias"), max_length=120, blank=True)
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    status = models.CharField(max_length=16, choices=RsvpStatus.choices)
    walk_in = models.BooleanField(default=False)
    # Opens the person's own confirmation page. NULL once purged, as several may be.
    access_token = models.CharField(  # noqa: DJ001
        max_length=64, unique=True, null=True, default=new_token
    )
    # Encoded in the QR code; only a signed-in trainer can use it. NULL once purged.
    checkin_token = models.CharField(  # noqa: DJ001
        max_length=64, unique=True, null=True, default=new_token
    )
    created_at = models.DateTimeField(default=timezone.now)
    checked_in_at = models.DateTimeField(null=True, blank=True)
    checked_in_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reminder_sent_at = models.DateTimeField(null=True, blank=True)
    purged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"RSVP {self.pk}"


class Attendance(models.Model):
    """A trainer's confirmation that an observer attended an in-person session of a course."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="attendances"
    )
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="attendances")
    event = models.ForeignKey(
        Event, null=True, blank=True, on_delete=models.SET_NULL, related_name="attendances"
    )
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    confirmed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-confirmed_at", "-id"]

    def __str__(self) -> str:
        return f"attendance {self.pk}"


class CertificationDecision(models.TextChoices):
    CERTIFIED = "certified", _("Certified")
    RENEWED = "renewed", _("Renewed by refresher")


class Certification(models.Model):
    """One certification decision. Rows are written once and never changed."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="certifications"
    )
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="certifications")
    decision = models.CharField(max_length=16, choices=CertificationDecision.choices)
    decided_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    # The trainer who confirmed attendance; empty for a renewal by refresher quiz.
    trainer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    attempt = models.OneToOneField(
        QuizAttempt, on_delete=models.PROTECT, related_name="certification"
    )
    attendance = models.OneToOneField(
        Attendance, null=True, blank=True, on_delete=models.PROTECT, related_name="certification"
    )

    class Meta:
        ordering = ["-decided_at", "-id"]

    def __str__(self) -> str:
        return f"certification {self.pk}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise RuntimeError("certification decisions are recorded once and never changed")
        super().save(*args, **kwargs)


class CertificationReminder(models.Model):
    """That the expiry reminder for one certification went out, so it goes out once."""

    certification = models.OneToOneField(
        Certification, on_delete=models.PROTECT, related_name="reminder"
    )
    sent_at = models.DateTimeField()
    channel = models.CharField(max_length=16)

    def __str__(self) -> str:
        return f"reminder for certification {self.pk}"
