"""A trainer writes a course in English and Spanish; an observer takes it in Spanish and is
certified once the trainer confirms attendance. Real Chromium against a live server."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import BrowserContext, Page, expect

from amparo.accounts.models import User
from amparo.accounts.roles import Role
from amparo.training.models import Certification, Course, QuizAttempt
from amparo.training.services import is_certified
from amparo.web.policy import MFA_SESSION_KEY

pytestmark = pytest.mark.browser


def signed_in_page(new_context: Callable[[], BrowserContext], site: str, user: User) -> Page:
    """A browser whose session has passed sign-in and MFA, set up through Django's client."""
    client = Client()
    client.force_login(user)
    session = client.session
    session[MFA_SESSION_KEY] = True
    session.save()
    context = new_context()
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": session.session_key or "",
                "domain": urlsplit(site).hostname or "127.0.0.1",
                "path": "/",
            }
        ]
    )
    return context.new_page()


def submit(page: Page, label: str = "Save") -> None:
    page.locator("main form button[type=submit]", has_text=label).first.click()


def add_module(page: Page, position: int, title: str, body: str) -> None:
    page.get_by_role("link", name="Add a module").click()
    page.locator("#id_language").select_option("en")
    page.locator("#id_position").fill(str(position))
    page.locator("#id_title").fill(title)
    page.locator("#id_body").fill(body)
    submit(page)


def add_question(page: Page, position: int, prompt: str, choices: str, explanation: str) -> None:
    page.get_by_role("link", name="Add a question").click()
    page.locator("#id_language").select_option("en")
    page.locator("#id_position").fill(str(position))
    page.locator("#id_prompt").fill(prompt)
    page.locator("#id_choices").fill(choices)
    page.locator("#id_correct_choice").fill("1")
    page.locator("#id_explanation").fill(explanation)
    submit(page)


def translate(page: Page, action: str, fields: dict[str, str]) -> None:
    page.locator(f"[data-action='{action}']").click()
    for field, value in fields.items():
        page.locator(f"#id_{field}").fill(value)
    submit(page)


def test_trainer_writes_observer_passes_in_spanish_and_is_certified(
    new_context: Callable[[], BrowserContext], site: str
) -> None:
    trainer = User.objects.create_user(username="tomas", role=Role.TRAINER, display_name="Tomás")
    observer = User.objects.create_user(username="olga", role=Role.OBSERVER, display_name="Olga")

    # The trainer writes the course, in English first.
    author = signed_in_page(new_context, site, trainer)
    author.goto("/training/")
    author.get_by_role("link", name="New course").click()
    author.locator("#id_title").fill("Observing lawfully")
    author.locator("#id_language").select_option("en")
    author.locator("#id_pass_mark_percent").fill("100")
    submit(author, "Create course")
    expect(author.get_by_role("heading", level=1)).to_contain_text("Observing lawfully")
    edit_url = author.url

    add_module(author, 1, "Keep your distance", "Watch from a **distance**.")
    add_module(author, 2, "Notes", "Write down *times* and places.")
    add_question(author, 1, "Where do you stand?", "At a distance\nIn the doorway", "Distance.")
    add_question(author, 2, "What do you write?", "Times and places\nGuesses", "Facts only.")

    # Then in Spanish, checking the preview before saving.
    translate(author, "title-es", {"title": "Observar dentro de la ley"})
    author.locator("[data-action='module-1-es']").click()
    author.locator("#id_title").fill("Mantenga la distancia")
    author.locator("#id_body").fill("Observe a **distancia**.")
    author.get_by_role("button", name="Preview").click()
    expect(author.locator(".preview strong")).to_have_text("distancia")
    submit(author)
    translate(author, "module-2-es", {"title": "Notas", "body": "Anote *horas* y lugares."})
    translate(
        author,
        "question-1-es",
        {
            "prompt": "¿Dónde se coloca?",
            "choices": "A distancia\nEn la puerta",
            "explanation": "A distancia.",
        },
    )
    translate(
        author,
        "question-2-es",
        {
            "prompt": "¿Qué anota?",
            "choices": "Horas y lugares\nSuposiciones",
            "explanation": "Solo hechos.",
        },
    )
    author.locator("[data-action='preview-es']").click()
    expect(author.get_by_role("heading", level=1)).to_have_text("Observar dentro de la ley")
    expect(author.get_by_text("Anote")).to_be_visible()
    author.goto(edit_url)
    author.locator("#id_published").check()
    submit(author, "Save settings")
    course = Course.objects.get()
    assert course.published

    # The observer reads and takes it in Spanish: fails once, then passes.
    learner = signed_in_page(new_context, site, observer)
    learner.goto(f"/training/courses/{course.pk}/?lang=es")
    expect(learner.get_by_role("heading", level=1)).to_have_text("Observar dentro de la ley")
    learner.get_by_role("link", name="Mantenga la distancia").click()
    expect(learner.locator(".course-text strong")).to_have_text("distancia")
    learner.go_back()
    learner.get_by_role("link", name="Take the quiz").click()
    learner.get_by_label("A distancia").check()
    learner.get_by_label("Suposiciones").check()
    learner.get_by_role("button", name="Submit answers").click()
    expect(learner.locator("#result")).to_contain_text("You did not pass")
    expect(learner.get_by_text("Solo hechos.")).to_be_visible()
    learner.get_by_role("link", name="Try again").click()
    learner.get_by_label("A distancia").check()
    learner.get_by_label("Horas y lugares").check()
    learner.get_by_role("button", name="Submit answers").click()
    expect(learner.locator("#result")).to_contain_text("You passed")
    attempts = QuizAttempt.objects.filter(user=observer).order_by("submitted_at")
    assert [(a.passed, a.language) for a in attempts] == [(False, "es"), (True, "es")]
    assert not is_certified(observer)

    # The trainer confirms attendance at the in-person session.
    author.goto(f"/training/courses/{course.pk}/attendance/")
    author.locator("#id_observer").select_option(label="Olga (olga)")
    author.get_by_role("button", name="Confirm attendance").click()
    expect(author.locator(".messages")).to_contain_text("Attendance confirmed for Olga")

    # Now certified, with an expiry date, and eligible on the roster.
    certification = Certification.objects.get(user=observer)
    assert certification.trainer == trainer
    assert is_certified(observer)
    author.goto("/training/roster/")
    row = author.locator("#roster tr[data-username='olga']")
    expect(row).to_contain_text("Eligible")
    expect(row).to_contain_text(str(certification.expires_at.year))
    learner.goto("/training/")
    expect(learner.locator("#my-status")).to_contain_text("Certified")
