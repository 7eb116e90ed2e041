from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from amparo.accounts.roles import Role
from amparo.audit.models import AuditEvent
from amparo.training.models import Attachment, Course, ModuleTranslation, QuizAttempt
from amparo.training.services import is_certified
from tests.training.clients import signed_in_client
from tests.training.factories import course_with_quiz, person

pytestmark = pytest.mark.django_db


def test_trainer_writes_a_course_in_two_languages_with_preview() -> None:
    trainer = signed_in_client(person("tomas", Role.TRAINER))
    response = trainer.post(
        reverse("training:course_new"),
        {"language": "en", "title": "Observing", "summary": "", "pass_mark_percent": 50},
    )
    course = Course.objects.get()
    assert response["Location"] == reverse("training:course_edit", args=[course.pk])
    trainer.post(
        reverse("training:course_translation", args=[course.pk, "es"]), {"title": "Observar"}
    )
    trainer.post(
        reverse("training:module_new", args=[course.pk]),
        {"language": "en", "position": 1, "title": "Watch", "body": "Keep **calm**."},
    )
    module = course.modules.get()
    edit = reverse("training:module_edit", args=[module.pk, "es"])
    preview = trainer.post(
        edit, {"title": "Mirar", "body": "Mantenga la **calma**.", "preview": "1"}
    )
    assert b"<strong>calma</strong>" in preview.content
    assert not module.translations.filter(language="es").exists(), "preview must not save"
    trainer.post(edit, {"title": "Mirar", "body": "Mantenga la **calma**."})
    assert module.translations.get(language="es").title == "Mirar"
    page = trainer.get(reverse("training:course_preview", args=[course.pk, "es"]))
    assert b"Mantenga la <strong>calma</strong>" in page.content
    assert b"Observar" in page.content


def test_module_pages_render_script_and_javascript_links_inert() -> None:
    course = course_with_quiz()
    module = course.modules.get()
    ModuleTranslation.objects.filter(module=module, language="en").update(
        body="<script>alert(1)</script>\n\n[click](javascript:alert(1))"
    )
    observer = signed_in_client(person("olga"))
    page = observer.get(reverse("training:module", args=[module.pk]) + "?lang=en")
    html = page.content.decode()
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;" in html
    assert 'href="javascript:' not in html


def test_observer_takes_the_quiz_in_spanish_and_sees_explanations() -> None:
    course = course_with_quiz(questions=2, pass_mark=100)
    observer = signed_in_client(person("olga"))
    quiz_url = reverse("training:quiz", args=[course.pk]) + "?lang=es"
    page = observer.get(quiz_url)
    assert b"Q1 es" in page.content
    questions = list(course.questions.all())
    response = observer.post(quiz_url, {f"question-{q.pk}": "2" for q in questions})
    attempt = QuizAttempt.objects.get()
    assert attempt.passed
    assert attempt.language == "es"
    result = observer.get(response["Location"])
    assert b"because 1" in result.content


def test_unpublished_courses_are_hidden_from_observers() -> None:
    course = course_with_quiz()
    Course.objects.filter(pk=course.pk).update(published=False)
    observer = signed_in_client(person("olga"))
    assert observer.get(reverse("training:course", args=[course.pk])).status_code == 404


def test_someone_elses_attempt_is_not_shown() -> None:
    course = course_with_quiz()
    olga = signed_in_client(person("olga"))
    olga.post(reverse("training:quiz", args=[course.pk]), {})
    attempt = QuizAttempt.objects.get()
    omar = signed_in_client(person("omar"))
    assert omar.get(reverse("training:attempt", args=[attempt.pk])).status_code == 404


def test_attachments_are_checked_by_content_and_served_only_through_the_view() -> None:
    course = course_with_quiz()
    module = course.modules.get()
    trainer = signed_in_client(person("tomas", Role.TRAINER))
    upload = reverse("training:attachment_upload", args=[module.pk])
    fake = SimpleUploadedFile("handout.pdf", b"<html>not a pdf</html>", "application/pdf")
    trainer.post(
        upload, {"attachment-title": "Fake", "attachment-language": "", "attachment-file": fake}
    )
    assert not Attachment.objects.exists()
    pdf = SimpleUploadedFile("handout.pdf", b"%PDF-1.4\n%%EOF\n", "text/plain")
    trainer.post(
        upload, {"attachment-title": "Handout", "attachment-language": "es", "attachment-file": pdf}
    )
    attachment = Attachment.objects.get()
    assert attachment.content_type == "application/pdf"
    observer = signed_in_client(person("olga"))
    response = observer.get(reverse("training:attachment", args=[attachment.pk]))
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content) == b"%PDF-1.4\n%%EOF\n"  # type: ignore[attr-defined]
    assert Client().get(reverse("training:attachment", args=[attachment.pk])).status_code == 302


def test_trainer_confirms_attendance_and_the_roster_and_csv_show_it() -> None:
    course = course_with_quiz(questions=1, pass_mark=100)
    olga = person("olga")
    signed_in_client(olga).post(
        reverse("training:quiz", args=[course.pk]),
        {f"question-{course.questions.get().pk}": "2"},
    )
    trainer = signed_in_client(person("tomas", Role.TRAINER))
    trainer.post(reverse("training:attendance", args=[course.pk]), {"observer": olga.pk})
    assert is_certified(olga)
    roster = trainer.get(reverse("training:roster")).content.decode()
    assert 'data-username="olga"' in roster
    assert "Eligible" in roster
    export = trainer.get(reverse("training:certifications_csv"))
    rows = list(csv.DictReader(io.StringIO(export.content.decode())))
    assert [(r["observer"], r["trainer"]) for r in rows] == [("olga", "tomas")]
    assert AuditEvent.objects.filter(action="training.certifications.exported").count() == 1
    assert not is_certified(olga, at=timezone.now() + timedelta(days=366))
