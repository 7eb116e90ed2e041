from __future__ import annotations

import io
import re

import pytest
from django.core.management import call_command

from amparo.training.models import Course, ModuleTranslation, QuestionTranslation
from amparo.training.starter_course import MODULES, QUESTIONS, STARTER_SLUG

pytestmark = pytest.mark.django_db


def test_loads_once_as_a_draft_for_review_in_english_and_spanish() -> None:
    out = io.StringIO()
    call_command("loadstartercourse", stdout=out)
    call_command("loadstartercourse", stdout=out)
    assert "already here" in out.getvalue()
    course = Course.objects.get(slug=STARTER_SLUG)
    assert Course.objects.count() == 1
    assert course.needs_legal_review
    assert not course.published
    assert sorted(course.translations.values_list("language", flat=True)) == ["en", "es"]
    assert course.questions.count() == 10
    for question in course.questions.all():
        texts = list(question.translations.all())
        assert {t.language for t in texts} == {"en", "es"}
        assert len({len(t.choices) for t in texts}) == 1
        assert all(t.explanation for t in texts)
    assert course.modules.count() == len(MODULES) == 7


def test_every_module_says_it_is_a_draft_for_review() -> None:
    call_command("loadstartercourse", stdout=io.StringIO())
    for text in ModuleTranslation.objects.all():
        assert "review" in text.body.lower() or "revisión" in text.body.lower()


FORBIDDEN = re.compile(r"badge|plate|placa|licen[cs]e|track|rastre|sighting|avistamiento", re.I)


def test_nothing_about_identifying_officers_or_tracking() -> None:
    call_command("loadstartercourse", stdout=io.StringIO())
    texts = [t.body + t.title for t in ModuleTranslation.objects.all()]
    texts += [
        t.prompt + " ".join(t.choices) + t.explanation for t in QuestionTranslation.objects.all()
    ]
    for text in texts:
        assert not FORBIDDEN.search(text), text[:80]


def test_the_right_answer_is_the_same_in_both_languages() -> None:
    for question in QUESTIONS:
        assert question["en"][2] == question["es"][2]
