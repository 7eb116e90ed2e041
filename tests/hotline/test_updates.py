from typing import Any

import pytest
from django.urls import reverse

from amparo.accounts.roles import Role
from amparo.hotline import updates
from amparo.hotline.models import Case, Intake, UpdateTemplate
from tests.hotline.factories import intake, person, signed_in
from tests.hotline.smtp_server import smtp_server  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db


@pytest.fixture
def reviewer():
    coordinator = person("coord", Role.COORDINATOR)
    for template in UpdateTemplate.objects.all():
        updates.mark_reviewed(template, coordinator)
    return coordinator


def located(**overrides: Any) -> tuple[Case, Intake]:
    outcome = intake(**overrides)
    case = outcome.case
    case.facility_name = "Centro de Detención de Eloy"
    case.facility_address = "1705 E Hanna Rd, Eloy, AZ"
    case.facility_phone = "520-464-3000"
    case.save()
    return case, outcome.intake


def test_default_templates_arrive_unreviewed_in_english_and_spanish():
    assert set(UpdateTemplate.objects.values_list("language", flat=True)) == {"en", "es"}
    assert not UpdateTemplate.objects.filter(reviewed_at__isnull=False).exists()
    case, intake_row = located()
    with pytest.raises(updates.UpdateRefused, match="not been reviewed"):
        updates.send_family_update(case, intake_row, "located", None)


def test_update_in_spanish_reaches_a_real_smtp_server(smtp_server, reviewer):  # noqa: F811
    case, intake_row = located()
    sent = updates.send_family_update(case, intake_row, "located", reviewer)
    assert sent.delivered, sent.failure
    [message] = smtp_server.messages
    assert message["To"] == "rosa@example.org"
    assert message["Subject"].startswith("Noticias de")
    body = smtp_server.bodies()[0]
    assert "Encontramos dónde está detenido/a José Luis Hernández Ramírez" in body
    assert "Centro de Detención de Eloy" in body


def test_consent_decides_what_can_be_said(smtp_server, reviewer):  # noqa: F811
    case, intake_row = located(consent_updates_location=False)
    with pytest.raises(updates.UpdateRefused, match="Where the person is held"):
        updates.send_family_update(case, intake_row, "located", reviewer)
    assert smtp_server.messages == []


def test_placeholders_outside_consent_are_refused_even_if_the_template_forgets_them(reviewer):
    case, intake_row = located(consent_updates_attorney=False)
    template = UpdateTemplate.objects.get(key="located", language="es")
    template.body += " {attorney_phone}"
    template.save()
    with pytest.raises(updates.UpdateRefused, match="attorney"):
        updates.render_update(template, case, intake_row)


def test_rendered_text_holds_only_consented_facts(reviewer):
    case, intake_row = located(consent_updates_status=True, consent_updates_location=True)
    _subject, body = updates.render_update(
        UpdateTemplate.objects.get(key="located", language="es"), case, intake_row
    )
    assert "Eloy" in body
    assert "012345678" not in body


def test_no_template_in_the_callers_language_is_refused(reviewer):
    case, intake_row = located(caller_language="ht")
    with pytest.raises(updates.UpdateRefused, match="ht"):
        updates.send_family_update(case, intake_row, "located", reviewer)


def test_sms_needs_permission_to_leave_a_message(reviewer):
    case, intake_row = located(update_channel="sms", safe_to_leave_message=False)
    with pytest.raises(updates.UpdateRefused, match="not safe"):
        updates.send_family_update(case, intake_row, "located", reviewer)


def test_editing_a_template_clears_its_review(reviewer):
    template = UpdateTemplate.objects.get(key="located", language="es")
    updates.edit_template(template, "Noticias", "Hola {caller}, {facility}")
    template.refresh_from_db()
    assert template.reviewed_at is None
    assert template.reveals == "location"
    with pytest.raises(updates.UpdateRefused, match="Unknown placeholders: a_number"):
        updates.edit_template(template, "x", "{a_number}")


def test_the_words_sent_are_kept_and_shown_even_after_the_template_changes(
    smtp_server,  # noqa: F811
    reviewer,
):
    case, intake_row = located()
    sent = updates.send_family_update(case, intake_row, "located", reviewer)
    assert sent.subject == smtp_server.messages[0]["Subject"]
    assert sent.body.strip() == smtp_server.bodies()[0].replace("\r\n", "\n").strip()
    assert "Centro de Detención de Eloy" in sent.body
    template = UpdateTemplate.objects.get(key="located", language="es")
    updates.edit_template(template, "Noticias nuevas", "Hola {caller}, otra cosa: {facility}")
    sent.refresh_from_db()
    assert "Encontramos dónde está detenido/a" in sent.body
    page = signed_in(reviewer).get(reverse("hotline:case", args=[case.pk])).content.decode()
    assert "What was sent" in page
    assert "Encontramos dónde está detenido/a José Luis Hernández Ramírez" in page
    assert "otra cosa" not in page


def test_a_line_break_in_a_name_does_not_break_the_subject(smtp_server, reviewer):  # noqa: F811
    """The public form's fields are text boxes, but anyone can post a line break; a name put
    in the subject must not end the email's header (Django would refuse it: a 500)."""
    case, intake_row = located()
    case.legal_name = "José Luis\r\nBcc: someone@example.org"
    case.save()
    template = UpdateTemplate.objects.get(key="located", language="es")
    template.subject = "Noticias de {person}"
    template.save()
    sent = updates.send_family_update(case, intake_row, "located", reviewer)
    assert sent.delivered, sent.failure
    [message] = smtp_server.messages
    assert message["Subject"] == "Noticias de José Luis Bcc: someone@example.org"
    assert message["Bcc"] is None


def test_without_a_reviewed_template_the_page_says_so_instead_of_offering_to_send():
    from django.urls import reverse

    from amparo.accounts.roles import Role
    from tests.hotline.factories import person, signed_in

    case, row = located()
    UpdateTemplate.objects.update(reviewed_at=None, reviewed_by=None)
    client = signed_in(person("vol", Role.HOTLINE))
    page = client.get(reverse("hotline:case", args=[case.pk])).content.decode()
    assert "No message can be sent to" in page
    assert "there is no reviewed template in their language (Spanish)" in page
    assert reverse("hotline:case_update", args=[case.pk]) not in page
    with pytest.raises(updates.UpdateRefused, match="Choose which message"):
        updates.send_family_update(case, row, "", None)
