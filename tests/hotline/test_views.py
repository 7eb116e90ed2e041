import logging
from datetime import date

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse, set_script_prefix

from amparo.accounts.roles import Role
from amparo.audit.models import AuditEvent
from amparo.hotline.models import Case, DuplicateFlag, Intake, IntakeBucket
from tests.hotline.factories import attorney, intake, offered, person, signed_in

pytestmark = pytest.mark.django_db

FORM = {
    "caller_name": "Rosa",
    "caller_phone": "+1 555 0100",
    "caller_email": "rosa@example.org",
    "safe_to_call": "on",
    "caller_language": "es",
    "legal_name": "José Luis Hernández",
    "date_of_birth": "1987-04-23",
    "country_of_birth": "Guatemala",
    "a_number": "A012-345-678",
    "best_language": "es",
    "needs_legal": "on",
    "consent_share_with_attorneys": "on",
    "update_channel": "email",
}


@pytest.fixture
def roomy_bucket(settings):
    settings.INTAKE_BURST = 100
    settings.INTAKE_PER_SECOND = 100


def test_public_form_speaks_the_callers_language():
    response = Client().get(reverse("hotline:help"), HTTP_ACCEPT_LANGUAGE="es")
    assert response.status_code == 200
    assert b'lang="es"' in response.content
    assert b'<option value="es" selected>' in response.content


def test_public_form_opens_a_case_and_keeps_no_address(roomy_bucket, caplog):
    caplog.set_level(logging.DEBUG)
    response = Client().post(
        reverse("hotline:help"),
        FORM,
        REMOTE_ADDR="203.0.113.77",
        HTTP_USER_AGENT="Mozilla/5.0 TellTale/9.1",
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("hotline:help_thanks")
    case = Case.objects.get()
    assert case.a_number() == "012345678"
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - names from the schema
            text = " ".join(str(v) for row in cursor.fetchall() for v in row)
            assert "203.0.113.77" not in text, table
            assert "TellTale" not in text, table
    logged = caplog.text
    for secret in ("012345678", "012-345-678", "1987-04-23"):
        assert secret not in logged


def test_bad_a_number_comes_back_with_a_clear_message(roomy_bucket):
    response = Client().post(reverse("hotline:help"), {**FORM, "a_number": "12-34"})
    assert response.status_code == 200
    assert "8 or 9 digits; this one has 4" in response.content.decode()
    assert not Case.objects.exists()


def test_a_flood_gets_429_with_retry_after(settings):
    settings.INTAKE_BURST = 3
    settings.INTAKE_PER_SECOND = 0.1
    client = Client()
    answers = [client.post(reverse("hotline:help"), FORM) for _ in range(5)]
    assert [r.status_code for r in answers] == [302, 302, 302, 429, 429]
    assert 1 <= int(answers[-1]["Retry-After"]) <= 10
    assert Case.objects.count() == 3
    assert IntakeBucket.objects.get().tokens < 1


def test_call_script_reads_rights_and_flags_a_duplicate(roomy_bucket):
    first = intake().case
    volunteer = signed_in(person("vol", Role.HOTLINE))
    page = volunteer.get(reverse("hotline:call"))
    assert "right to remain silent" in page.content.decode()
    response = volunteer.post(reverse("hotline:call"), {**FORM, "a_number": "12345678"})
    second = Case.objects.exclude(pk=first.pk).get()
    assert response["Location"] == reverse("hotline:case", args=[second.pk])
    assert DuplicateFlag.objects.get(case=second).other == first
    taken_by = Intake.objects.get(case=second).taken_by
    assert taken_by is not None
    assert taken_by.username == "vol"
    case_page = volunteer.get(response["Location"]).content.decode()
    assert "Possible duplicates" in case_page
    assert "012345678" not in case_page  # volunteers see only the last digits
    assert "A•••-•••-678" in case_page


def test_a_number_search_is_posted_never_put_in_the_url():
    case = intake().case
    volunteer = signed_in(person("vol", Role.HOTLINE))
    response = volunteer.post(reverse("hotline:cases"), {"a_number": "a-12345678"})
    assert reverse("hotline:case", args=[case.pk]) in response.content.decode()
    assert AuditEvent.objects.filter(action="hotline.search.a_number").exists()


def test_every_case_read_is_audited():
    case = intake().case
    volunteer = signed_in(person("vol", Role.HOTLINE))
    volunteer.get(reverse("hotline:case", args=[case.pk]))
    assert (
        AuditEvent.objects.filter(action="hotline.case.read", target=f"case:{case.pk}").count() == 1
    )


def test_attorney_sees_immigration_details_only_after_no_conflict():
    case = intake().case
    lawyer = attorney("ana")
    offer = offered(case)
    client = signed_in(lawyer)
    url = reverse("hotline:offer", args=[offer.pk])
    before = client.get(url).content.decode()
    assert "José Luis Hernández Ramírez" in before  # names, for the conflict check
    assert "A012-345-678" not in before
    assert "1987-04-23" not in before
    client.post(reverse("hotline:offer_no_conflict", args=[offer.pk]))
    after = client.get(url).content.decode()
    assert "A012-345-678" in after
    assert "1987-04-23" in after
    assert AuditEvent.objects.filter(action="hotline.offer.details_read").exists()
    response = client.post(reverse("hotline:offer_accept", args=[offer.pk]))
    assert response["Location"] == reverse("hotline:case", args=[case.pk])
    assert client.get(response["Location"]).status_code == 200


def test_another_attorney_is_refused_the_offer_and_the_case():
    case = intake().case
    attorney("ana")
    offer = offered(case)
    intruder = signed_in(attorney("ben", languages="en"))
    assert intruder.get(reverse("hotline:offer", args=[offer.pk])).status_code == 403
    assert intruder.post(reverse("hotline:offer_accept", args=[offer.pk])).status_code == 403
    assert intruder.get(reverse("hotline:case", args=[case.pk])).status_code == 403
    assert intruder.get(reverse("hotline:offer", args=[offer.pk + 99])).status_code == 404


def test_bond_decision_from_the_case_page_shows_the_appeal_deadline():
    case = intake().case
    lawyer = attorney("ana")
    case.assigned_attorney = lawyer
    case.save()
    client = signed_in(lawyer)
    client.post(
        reverse("hotline:case_hearing", args=[case.pk]),
        {"kind": "bond", "decision_date": "2025-06-02", "bond_outcome": "denied"},
    )
    page = client.get(reverse("hotline:case", args=[case.pk])).content.decode()
    assert "2025-07-02" in page
    assert case.deadlines.get().due_on == date(2025, 7, 2)


def test_no_url_carries_an_a_number_or_birth_date(roomy_bucket):
    from amparo.web.checks import iter_routes

    for route in iter_routes():
        assert "a_number" not in route.pattern
        assert "birth" not in route.pattern


def test_the_thank_you_address_keeps_the_script_prefix(roomy_bucket):
    """Amparo served under a path prefix sends the family to the thank-you page under it;
    the address is worked out once per prefix. (The WSGI handler sets the prefix from
    SCRIPT_NAME on each request; the test client does not, so the test sets it.)"""
    try:
        set_script_prefix("/amparo/")
        under = Client().post("/hotline/help/", FORM)
        assert under.status_code == 302
        assert under["Location"] == "/amparo/hotline/help/thanks/"
    finally:
        set_script_prefix("/")
    plain = Client().post("/hotline/help/", {**FORM, "a_number": ""})
    assert plain["Location"] == "/hotline/help/thanks/"


def test_languages_are_named_not_coded_on_the_case_and_offer_pages():
    lawyer = attorney("ana")
    case = intake(best_language="ht", caller_language="es").case
    coordinator = signed_in(person("coord", Role.COORDINATOR))
    page = coordinator.get(reverse("hotline:case", args=[case.pk])).content.decode()
    assert "<dd>Haitian Creole</dd>" in page  # their best language
    assert "<dd>Spanish" in page  # the caller's
    offer = offered(case)
    assert offer.attorney == lawyer
    offer_page = signed_in(lawyer).get(reverse("hotline:offer", args=[offer.pk])).content.decode()
    assert "<dd>Haitian Creole</dd>" in offer_page
