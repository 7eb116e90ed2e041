"""What a volunteer needs to search for a detained person, and what a family must leave so
that someone can reach them."""

from __future__ import annotations

import time
from datetime import date, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from amparo.accounts.roles import Role
from amparo.audit.models import AuditEvent
from amparo.hotline import views
from amparo.hotline.forms import IntakeForm
from amparo.hotline.models import Case
from tests.hotline.factories import attorney, intake, person, signed_in

pytestmark = pytest.mark.django_db

FULL_A_NUMBER = "A012-345-678"
BORN = "1987-04-23"


def test_a_volunteer_asks_to_see_the_a_number_for_a_custody_search():
    case = intake().case
    volunteer = person("vol", Role.HOTLINE)
    client = signed_in(volunteer)
    page = client.get(reverse("hotline:case", args=[case.pk])).content.decode()
    assert FULL_A_NUMBER not in page
    assert BORN not in page
    assert "A•••-•••-678" in page
    assert 'id="reveal-form"' in page

    answer = client.post(reverse("hotline:case_reveal", args=[case.pk]))
    assert answer.status_code == 302
    assert answer["Location"] == reverse("hotline:case", args=[case.pk])
    shown = client.get(reverse("hotline:case", args=[case.pk])).content.decode()
    assert FULL_A_NUMBER in shown
    assert BORN in shown
    assert 'id="reveal-form"' not in shown
    assert AuditEvent.objects.filter(
        action="hotline.case.reveal", target=f"case:{case.pk}", actor=volunteer
    ).exists()
    assert AuditEvent.objects.filter(
        action="hotline.case.read", target=f"case:{case.pk}", detail="with immigration details"
    ).exists()
    # The session keeps the case number and a time, never the values.
    stored = str(dict(client.session.items()))
    assert "012345678" not in stored
    assert "1987" not in stored


def test_what_was_shown_is_hidden_again_after_a_while():
    case = intake().case
    client = signed_in(person("vol", Role.HOTLINE))
    client.post(reverse("hotline:case_reveal", args=[case.pk]))
    session = client.session
    session[views._REVEALED] = {str(case.pk): time.time() - 1}
    session.save()
    page = client.get(reverse("hotline:case", args=[case.pk])).content.decode()
    assert FULL_A_NUMBER not in page
    assert BORN not in page


def test_showing_one_case_shows_no_other():
    first, second = intake().case, intake(legal_name="Otra", a_number="A 111 222 333").case
    client = signed_in(person("vol", Role.HOTLINE))
    client.post(reverse("hotline:case_reveal", args=[first.pk]))
    page = client.get(reverse("hotline:case", args=[second.pk])).content.decode()
    assert "A111-222-333" not in page


def test_only_hotline_staff_ask_to_see_them():
    case = intake().case
    answer = signed_in(attorney("ana")).post(reverse("hotline:case_reveal", args=[case.pk]))
    assert answer.status_code == 403
    assert (
        signed_in(person("vol", Role.HOTLINE))
        .get(reverse("hotline:case_reveal", args=[case.pk]))
        .status_code
        == 405
    )


PUBLIC = {
    "caller_name": "Rosa",
    "caller_language": "es",
    "legal_name": "José Luis Hernández",
    "update_channel": "",
}


def test_a_family_asking_to_be_called_leaves_a_number(settings):
    settings.INTAKE_BURST = 100
    settings.INTAKE_PER_SECOND = 100
    client = Client()
    answer = client.post(reverse("hotline:help"), PUBLIC, HTTP_ACCEPT_LANGUAGE="en")
    assert answer.status_code == 200
    assert (
        "Give a phone number or an email address so that a volunteer can reach you."
        in answer.content.decode()
    )
    assert "José Luis Hernández" in answer.content.decode()  # nothing typed is lost
    assert not Case.objects.exists()
    sent = client.post(reverse("hotline:help"), PUBLIC | {"caller_phone": "+1 555 0100"})
    assert sent.status_code == 302
    assert Case.objects.count() == 1


def test_a_volunteer_may_take_a_call_with_no_number_to_note():
    client = signed_in(person("vol", Role.HOTLINE))
    answer = client.post(reverse("hotline:call"), PUBLIC)
    assert answer.status_code == 302
    assert Case.objects.count() == 1


@pytest.mark.parametrize(
    ("born", "words"),
    [
        (timezone.localdate() + timedelta(days=1), "in the future"),
        (date(1850, 1, 1), "Check the year"),
    ],
)
def test_an_impossible_date_of_birth_is_refused(born, words):
    form = IntakeForm(PUBLIC | {"caller_phone": "555", "date_of_birth": born.isoformat()})
    assert not form.is_valid()
    assert words in str(form.errors["date_of_birth"])


def test_today_is_a_possible_date_of_birth():
    form = IntakeForm(
        PUBLIC | {"caller_phone": "555", "date_of_birth": timezone.localdate().isoformat()}
    )
    assert form.is_valid(), form.errors


def test_the_public_form_lists_each_answer_to_look_at_with_a_link_to_it(settings):
    settings.INTAKE_BURST = 100
    settings.INTAKE_PER_SECOND = 100
    answer = Client().post(
        reverse("hotline:help"), PUBLIC | {"a_number": "12-34", "update_channel": "email"}
    )
    assert answer.status_code == 200
    page = answer.content.decode()
    assert 'id="error-summary"' in page
    assert '<a href="#id_a_number">' in page
    assert '<a href="#id_caller_email">' in page
    assert "this one has 4" in page


def test_a_language_button_brings_the_form_back_in_that_language_and_sends_nothing():
    client = Client()
    answer = client.post(
        reverse("hotline:help"),
        PUBLIC | {"switch_language": "ar", "a_number": "A012-345-678"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert answer.status_code == 200
    page = answer.content.decode()
    assert '<html lang="ar" dir="rtl">' in page
    assert 'value="José Luis Hernández"' in page
    assert answer.cookies["django_language"].value == "ar"
    assert not Case.objects.exists()
    # The next page comes in the language chosen, without asking again.
    assert '<html lang="ar"' in client.get(reverse("hotline:help")).content.decode()
    unknown = client.post(reverse("hotline:help"), PUBLIC | {"switch_language": "xx"})
    assert unknown.status_code == 200
    assert not Case.objects.exists()


def test_a_family_leaving_only_an_email_is_heard(settings):
    settings.INTAKE_BURST = 100
    settings.INTAKE_PER_SECOND = 100
    sent = Client().post(reverse("hotline:help"), PUBLIC | {"caller_email": "rosa@example.org"})
    assert sent.status_code == 302
    assert Case.objects.count() == 1


def test_a_volunteer_reads_the_script_in_the_callers_language_without_losing_the_answers():
    client = signed_in(person("vol", Role.HOTLINE))
    page = client.get(reverse("hotline:call"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'name="switch_language" value="es"' in page
    answer = client.post(
        reverse("hotline:call"), PUBLIC | {"switch_language": "es", "county": "Pinal"}
    )
    assert answer.status_code == 200
    text = answer.content.decode()
    assert '<html lang="es"' in text
    assert 'value="José Luis Hernández"' in text
    assert 'value="Pinal"' in text
    assert not Case.objects.exists()
