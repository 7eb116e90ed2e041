"""A deadline nobody will be reminded of is said out loud, and people can give the address
reminders go to."""

from __future__ import annotations

import logging
from datetime import date, timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from amparo.accounts.roles import Role
from amparo.audit.models import AuditEvent
from amparo.hotline import reminders, services
from amparo.hotline.models import Deadline, HearingKind
from tests.hotline.factories import attorney, intake, person, signed_in
from tests.hotline.smtp_server import smtp_server  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db

DECIDED = date(2025, 6, 1)


@pytest.fixture
def case_with_a_deadline():
    lawyer = attorney("ana")
    case = intake().case
    case.assigned_attorney = lawyer
    case.save()
    services.record_hearing(
        case, lawyer, kind=HearingKind.BOND, decision_date=DECIDED, bond_outcome="denied"
    )
    return case, lawyer


def test_a_deadline_with_nobody_to_remind_is_reported_every_run(case_with_a_deadline, caplog):
    case, lawyer = case_with_a_deadline
    lawyer.email = ""
    lawyer.save()
    coordinator = person("coord", Role.COORDINATOR, display_name="Coord")
    coordinator.email = ""
    coordinator.save()
    today = services.bond_appeal_due(DECIDED) - timedelta(days=6)
    caplog.set_level(logging.WARNING, logger="amparo.hotline.reminders")
    for _run in range(2):
        outcome = reminders.send_deadline_reminders(today=today)
        assert outcome.sent == 0
        assert [d.case_id for d in outcome.unreachable] == [case.pk]
    assert caplog.text.count("has nobody to remind") == 2

    page = signed_in(coordinator).get(reverse("hotline:case", args=[case.pk])).content.decode()
    assert "Nobody will be reminded of these deadlines" in page


def test_the_case_page_says_who_is_reminded(case_with_a_deadline):
    case, _lawyer = case_with_a_deadline
    coordinator = person("coord", Role.COORDINATOR, display_name="Carmen Coordinadora")
    page = signed_in(coordinator).get(reverse("hotline:case", args=[case.pk])).content.decode()
    assert "Reminders by email go to:" in page
    assert "Carmen Coordinadora" in page
    assert "Ana" in page
    assert "Nobody will be reminded" not in page


def test_a_person_gives_the_address_reminders_go_to(case_with_a_deadline, smtp_server):  # noqa: F811
    _case, lawyer = case_with_a_deadline
    lawyer.email = ""
    lawyer.save()
    client = signed_in(lawyer)
    refused = client.post(reverse("accounts:change_own_email"), {"email": "not an address"})
    assert refused.status_code == 400
    assert "Enter a valid email address." in refused.content.decode()
    lawyer.refresh_from_db()
    assert lawyer.email == ""

    saved = client.post(reverse("accounts:change_own_email"), {"email": "ana@law.example"})
    assert saved.status_code == 302
    lawyer.refresh_from_db()
    assert lawyer.email == "ana@law.example"
    assert AuditEvent.objects.filter(action="account.email_changed", actor=lawyer).exists()
    assert 'value="ana@law.example"' in client.get(reverse("accounts:account")).content.decode()

    today = services.bond_appeal_due(DECIDED) - timedelta(days=6)
    outcome = reminders.send_deadline_reminders(today=today)
    assert outcome.unreachable == []
    assert [m["To"] for m in smtp_server.messages] == ["ana@law.example"]


def test_each_person_is_reminded_in_their_own_language(case_with_a_deadline, smtp_server):  # noqa: F811
    _case, lawyer = case_with_a_deadline
    lawyer.preferred_language = "es"
    lawyer.save()
    person("coord", Role.COORDINATOR)  # no preference: the site's language
    today = services.bond_appeal_due(DECIDED) - timedelta(days=6)
    assert reminders.send_deadline_reminders(today=today).sent == 2
    subjects = {m["To"]: m["Subject"] for m in smtp_server.messages}
    assert subjects["ana@example.org"].startswith("Plazo en el caso")
    assert subjects["coord@example.org"].startswith("Deadline on case")


def test_the_command_says_which_deadline_nobody_will_hear_of(case_with_a_deadline, capsys):
    case, lawyer = case_with_a_deadline
    lawyer.email = ""
    lawyer.save()
    Deadline.objects.filter(case=case).update(due_on=timezone.localdate() + timedelta(days=2))
    call_command("senddeadlinereminders")
    captured = capsys.readouterr()
    assert "reminders sent: 0" in captured.out
    assert f"nobody to remind of the deadline on case {case.pk}" in captured.err
