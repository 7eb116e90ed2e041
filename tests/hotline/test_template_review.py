"""Update templates: one coordinator changes the words, another approves them before any send."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from amparo.accounts.models import User
from amparo.accounts.roles import Role
from amparo.audit.models import AuditEvent
from amparo.hotline import template_review, updates
from amparo.hotline.models import Case, Intake, UpdateTemplate
from tests.hotline.factories import intake, person, signed_in
from tests.hotline.smtp_server import Mailbox, smtp_server  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db

NEW_BODY = "Hola {caller}:\n\n{person} está en {facility}, {facility_address}.\n\n{network}"


@pytest.fixture
def two_coordinators() -> tuple[User, User]:
    return (
        person("alma", Role.COORDINATOR, display_name="Alma"),
        person("beto", Role.COORDINATOR, display_name="Beto"),
    )


def located_es() -> UpdateTemplate:
    return UpdateTemplate.objects.get(key="located", language="es")


def located_case(**overrides: Any) -> tuple[Case, Intake]:
    outcome = intake(**overrides)
    case = outcome.case
    case.facility_name = "Centro de Detención de Eloy"
    case.facility_address = "1705 E Hanna Rd, Eloy, AZ"
    case.save()
    return case, outcome.intake


def edit(client: Client, template: UpdateTemplate, subject: str, body: str) -> Any:
    return client.post(
        reverse("hotline:template_edit", args=[template.pk]),
        {"subject": subject, "body": body},
        follow=True,
    )


def approve(client: Client, template: UpdateTemplate, version: str | None = None) -> Any:
    template.refresh_from_db()
    return client.post(
        reverse("hotline:template_approve", args=[template.pk]),
        {"version": version or template_review.text_version(template)},
        follow=True,
    )


def test_changed_words_wait_for_a_second_coordinator_then_reach_the_family(
    two_coordinators: tuple[User, User],
    smtp_server: Mailbox,  # noqa: F811
) -> None:
    alma, beto = two_coordinators
    template = located_es()
    updates.mark_reviewed(template, beto)
    case, caller = located_case()

    form = signed_in(alma).get(reverse("hotline:template_edit", args=[template.pk]))
    assert 'dir="auto" lang="es"' in form.content.decode()
    page = edit(signed_in(alma), template, "Noticias", NEW_BODY)
    assert "Another coordinator must approve it" in page.content.decode()
    template.refresh_from_db()
    assert template.body == NEW_BODY
    assert template.reviewed_at is None
    assert template.edited_by == alma
    assert template.revealed_facts() == {"location"}
    assert AuditEvent.objects.filter(
        action="hotline.template.edited", target=f"template:{template.pk}", actor=alma
    ).exists()
    # Unreviewed: not offered on the case page and refused if sent anyway.
    assert list(updates.templates_for(caller)) == []
    with pytest.raises(updates.UpdateRefused, match="not been reviewed"):
        updates.send_family_update(case, caller, "located", None)

    # The one who wrote the words cannot approve them, by the page or by a crafted POST.
    listing = signed_in(alma).get(reverse("hotline:templates")).content.decode()
    assert reverse("hotline:template_approve", args=[template.pk]) not in listing
    refused = approve(signed_in(alma), template)
    assert "another coordinator must read and approve them" in refused.content.decode()
    template.refresh_from_db()
    assert template.reviewed_at is None

    # A second coordinator reads and approves; now the new words go out.
    listing = signed_in(beto).get(reverse("hotline:templates")).content.decode()
    assert reverse("hotline:template_approve", args=[template.pk]) in listing
    assert "Last changed by Alma" in listing
    approve(signed_in(beto), template)
    template.refresh_from_db()
    assert template.reviewed_by == beto
    assert AuditEvent.objects.filter(
        action="hotline.template.reviewed", target=f"template:{template.pk}", actor=beto
    ).exists()
    sent = updates.send_family_update(case, caller, "located", beto)
    assert sent.delivered, sent.failure
    assert (
        "José Luis Hernández Ramírez está en Centro de Detención de Eloy"
        in (smtp_server.bodies()[0])
    )


def test_an_approval_names_the_text_the_approver_read(two_coordinators: tuple[User, User]) -> None:
    alma, beto = two_coordinators
    template = located_es()
    edit(signed_in(alma), template, "Noticias", NEW_BODY)
    template.refresh_from_db()
    read_by_beto = template_review.text_version(template)
    edit(signed_in(alma), template, "Noticias", NEW_BODY + "\nP.D. {facility_phone}")

    page = approve(signed_in(beto), template, version=read_by_beto)
    assert "The words changed after you opened the page" in page.content.decode()
    template.refresh_from_db()
    assert template.reviewed_at is None


def test_shipped_words_nobody_changed_may_be_approved_by_any_coordinator(
    two_coordinators: tuple[User, User],
) -> None:
    alma, _beto = two_coordinators
    template = located_es()
    approve(signed_in(alma), template)
    template.refresh_from_db()
    assert template.reviewed_by == alma
    # Approving twice is refused, not recorded again.
    page = approve(signed_in(alma), template)
    assert "already reviewed" in page.content.decode()
    assert AuditEvent.objects.filter(action="hotline.template.reviewed").count() == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("Su número A es {a_number}", "Unknown placeholders: a_number"),
        ("Hola {person.__class__}", "Unknown placeholders: person.__class__"),
        ("Hola {caller", "A brace is not closed"),
    ],
)
def test_words_that_cannot_be_a_template_are_refused_and_the_review_stands(
    two_coordinators: tuple[User, User], body: str, message: str
) -> None:
    alma, beto = two_coordinators
    template = located_es()
    updates.mark_reviewed(template, beto)
    before = template.body

    page = edit(signed_in(alma), template, "Noticias", body)
    assert page.status_code == 200
    assert message in page.content.decode()
    template.refresh_from_db()
    assert template.body == before
    assert template.reviewed_by == beto


def test_saving_the_same_words_keeps_the_review(two_coordinators: tuple[User, User]) -> None:
    alma, beto = two_coordinators
    template = located_es()
    updates.mark_reviewed(template, beto)
    edit(signed_in(alma), template, template.subject, template.body)
    template.refresh_from_db()
    assert template.reviewed_by == beto
    assert not AuditEvent.objects.filter(action="hotline.template.edited").exists()


def test_a_new_language_is_written_by_one_and_approved_by_another(
    two_coordinators: tuple[User, User],
    smtp_server: Mailbox,  # noqa: F811
) -> None:
    alma, beto = two_coordinators
    english = UpdateTemplate.objects.get(key="located", language="en")
    url = reverse("hotline:template_translate", args=[english.pk])
    form = signed_in(alma).get(url).content.decode()
    assert '<option value="ar">' in form
    assert '<option value="es">' not in form  # it exists already

    signed_in(alma).post(
        url,
        {"language": "ar", "subject": "أخبار من {network}", "body": "مرحبا {caller}، {facility}"},
    )
    arabic = UpdateTemplate.objects.get(key="located", language="ar")
    assert arabic.reviewed_at is None
    assert arabic.edited_by == alma
    assert arabic.revealed_facts() == {"location"}
    assert AuditEvent.objects.filter(action="hotline.template.translated", detail="ar").exists()
    # The same language twice is refused.
    with pytest.raises(template_review.ReviewRefused):
        template_review.add_translation("located", "ar", beto, "x", "y")

    case, caller = located_case(caller_language="ar")
    with pytest.raises(updates.UpdateRefused, match="not been reviewed"):
        updates.send_family_update(case, caller, "located", None)
    approve(signed_in(alma), arabic)
    arabic.refresh_from_db()
    assert arabic.reviewed_at is None
    approve(signed_in(beto), arabic)
    assert list(updates.templates_for(caller)) == [arabic]
    assert updates.send_family_update(case, caller, "located", beto).delivered
    assert "مرحبا Rosa Hernández، Centro de Detención de Eloy" in smtp_server.bodies()[0]


@pytest.mark.parametrize("role", [Role.HOTLINE, Role.ATTORNEY, Role.OBSERVER])
def test_only_coordinators_edit_or_approve(role: Role) -> None:
    template = located_es()
    client = signed_in(person("someone", role))
    assert edit(client, template, "x", "y").status_code == 403
    assert approve(client, template).status_code == 403
    template.refresh_from_db()
    assert template.reviewed_at is None
    assert template.subject != "x"
    with pytest.raises(template_review.ReviewRefused):
        template_review.edit_template(template, person("other", role), "x", "y")


def test_the_list_no_longer_approves_by_itself(two_coordinators: tuple[User, User]) -> None:
    alma, _beto = two_coordinators
    template = located_es()
    response = signed_in(alma).post(reverse("hotline:templates"), {"template": template.pk})
    assert response.status_code == 405
    template.refresh_from_db()
    assert template.reviewed_at is None


def test_templates_are_named_for_what_they_say_in_the_readers_language(
    two_coordinators: tuple[User, User],
) -> None:
    first, _second = two_coordinators
    client = signed_in(first)
    page = client.get(reverse("hotline:templates")).content.decode()
    assert "<h2>A lawyer took the case (English)</h2>" in page
    assert "<h2>A lawyer took the case (Spanish)</h2>" in page
    assert "Reveals: Who the attorney is" in page
    assert "attorney_assigned" not in page
    assert '<pre lang="es" dir="auto">' in page  # the message reads in its own direction
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"
    page = client.get(reverse("hotline:templates")).content.decode()
    assert "Un/a abogado/a tomó el caso (Inglés)" in page


def test_the_case_page_offers_updates_by_name(two_coordinators: tuple[User, User]) -> None:
    first, _second = two_coordinators
    UpdateTemplate.objects.update(reviewed_by=first, reviewed_at=timezone.now())
    case = intake().case
    page = signed_in(first).get(reverse("hotline:case", args=[case.pk])).content.decode()
    assert '<option value="located">Where they are held</option>' in page
