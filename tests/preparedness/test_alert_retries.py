"""Interrupted and refused plan alerts are retried, a bounded number of times, never twice
once the adapter acknowledged them. The mail server is a real SMTP server on loopback."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from django.core.mail.backends.base import BaseEmailBackend
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from amparo.accounts.roles import Role
from amparo.audit.models import AuditEvent
from amparo.hotline.models import Case, IntakeChannel
from amparo.ops.schedule import available_housekeeping
from amparo.preparedness.alerts import (
    CLAIM_TIMEOUT,
    MAX_ATTEMPTS,
    RETRY_DELAYS,
    activate_plan,
    retry_alerts,
)
from amparo.preparedness.models import (
    ActivationSource,
    AlertDelivery,
    ContactChannel,
    DeliveryState,
    EmergencyContact,
)
from amparo.preparedness.services import set_pin
from tests.notify.loopback import SmtpInbox, free_port, serving_mail, smtp_settings
from tests.preparedness.conftest import fill_plan, make_family
from tests.preparedness.test_access import staff_client

pytestmark = pytest.mark.django_db

PASSPHRASE = "luna-cielo-tren-faro-42"


@dataclass
class MoodyServer(SmtpInbox):
    """A real SMTP server that answers DATA with a temporary refusal while ``refuse`` > 0,
    and refuses the recipients listed in ``reject_for_good`` with a 550."""

    refuse: int = 0
    reject_for_good: set[str] = field(default_factory=set)
    refused: int = 0

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.reject_for_good:
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse > 0:
            self.refuse -= 1
            self.refused += 1
            return "451 4.3.0 Try again later"
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def moody_server() -> Iterator[MoodyServer]:
    with serving_mail(MoodyServer(port=free_port())) as server:
        yield server


class DiesMidSendBackend(BaseEmailBackend):
    """Stands in for a worker killed while sending: the test process itself cannot die."""

    def send_messages(self, email_messages: Any) -> int:
        raise SystemExit("the worker was killed")


def run_retry_job() -> str:
    output = io.StringIO()
    call_command("sendplanalerts", stdout=output)
    return output.getvalue()


def make_due() -> None:
    """Let the clock pass: every waiting row is due and every claim is stale."""
    past = timezone.now() - CLAIM_TIMEOUT - timedelta(seconds=1)
    AlertDelivery.objects.exclude(state=DeliveryState.SENT).update(
        next_attempt_at=past, claimed_at=past
    )


def test_a_server_that_refuses_then_accepts_gets_each_message_once(moody_server):
    plan = fill_plan(make_family().plan)
    moody_server.refuse = 2

    outcome = activate_plan(plan, ActivationSource.FAMILY)

    assert (outcome.sent, outcome.retrying, outcome.failed) == (0, 2, 0)
    assert moody_server.refused == 2
    assert moody_server.messages == []
    rows = list(AlertDelivery.objects.all())
    assert {row.state for row in rows} == {DeliveryState.RETRY}
    assert all(row.attempts == 1 for row in rows)
    assert all("451" in row.error for row in rows)
    for row in rows:
        assert row.next_attempt_at is not None
        wait = row.next_attempt_at - timezone.now()
        assert timedelta(0) < wait <= RETRY_DELAYS[0]

    # Not due yet: the job leaves them alone.
    assert "sent: 0" in run_retry_job()
    assert moody_server.messages == []

    make_due()
    assert "plan alerts sent: 2, to retry: 0, given up: 0" in run_retry_job()
    assert len(moody_server.to("tia@example.org")) == 1
    assert len(moody_server.to("pastor@example.org")) == 1
    rows = list(AlertDelivery.objects.all())
    assert {row.state for row in rows} == {DeliveryState.SENT}
    assert all(row.attempts == 2 and row.error == "" for row in rows)

    # Acknowledged messages are never taken again, however often the job runs.
    make_due()
    AlertDelivery.objects.update(claimed_at=timezone.now() - timedelta(days=1))
    run_retry_job()
    run_retry_job()
    assert len(moody_server.messages) == 2
    assert AuditEvent.objects.filter(action="family.alerts_retried").count() == 1


def test_a_send_cut_short_by_a_dead_worker_is_sent_once_later(smtp_inbox, settings):
    plan = fill_plan(make_family().plan)
    settings.EMAIL_BACKEND = f"{__name__}.DiesMidSendBackend"
    with pytest.raises(SystemExit):
        activate_plan(plan, ActivationSource.FAMILY)
    first, second = AlertDelivery.objects.all()
    assert (first.state, first.attempts) == (DeliveryState.SENDING, 1)
    assert (second.state, second.attempts) == (DeliveryState.PENDING, 0)
    # The intake was opened before any message was sent; the hotline has the plan anyway.
    assert Case.objects.count() == 1

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    # A fresh claim may be a sender still at work: the job does not touch it yet.
    run_retry_job()
    assert smtp_inbox.messages == []
    first.refresh_from_db()
    assert first.state == DeliveryState.SENDING

    make_due()
    assert "plan alerts sent: 2" in run_retry_job()
    assert len(smtp_inbox.to("tia@example.org")) == 1
    assert len(smtp_inbox.to("pastor@example.org")) == 1
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.state, first.attempts) == (DeliveryState.SENT, 2)
    assert (second.state, second.attempts) == (DeliveryState.SENT, 1)


def test_two_retry_jobs_racing_for_one_stale_claim_send_it_once(smtp_inbox):
    plan = fill_plan(make_family().plan)
    outcome = activate_plan(plan, ActivationSource.FAMILY)
    assert outcome.sent == 2
    stale = timezone.now() - CLAIM_TIMEOUT - timedelta(minutes=1)
    row = AlertDelivery.objects.first()
    assert row is not None
    # As if its sender had died: back to a stale claim, and the message not yet received.
    AlertDelivery.objects.filter(pk=row.pk).update(state=DeliveryState.SENDING, claimed_at=stale)
    message_ids = {message["To"]: message["Message-ID"] for message in smtp_inbox.messages}
    assert len(set(message_ids.values())) == 2
    smtp_inbox.messages.clear()

    now = timezone.now()
    first = retry_alerts(now)
    second = retry_alerts(now)
    assert (first.sent, second.sent) == (1, 0)
    [again] = smtp_inbox.messages
    # The repeat carries the first sending's Message-ID, so the receiving side can drop it.
    assert again["Message-ID"] == message_ids[again["To"]]


def test_a_refusal_for_good_is_not_retried(moody_server):
    plan = fill_plan(make_family().plan)
    moody_server.reject_for_good = {"pastor@example.org"}
    outcome = activate_plan(plan, ActivationSource.FAMILY)
    assert (outcome.sent, outcome.retrying, outcome.failed) == (1, 0, 1)
    refused = AlertDelivery.objects.get(address="pastor@example.org")
    assert refused.state == DeliveryState.FAILED
    assert "550" in refused.error
    make_due()
    run_retry_job()
    refused.refresh_from_db()
    assert (refused.state, refused.attempts) == (DeliveryState.FAILED, 1)
    assert len(moody_server.messages) == 1


def test_attempts_are_bounded_when_the_server_stays_down(settings):
    plan = fill_plan(make_family().plan)
    EmergencyContact.objects.filter(plan=plan).exclude(name="Rosa").delete()
    # Nothing listens on this port: every attempt is refused by the operating system.
    for name, value in smtp_settings(free_port()).items():
        setattr(settings, name, value)
    outcome = activate_plan(plan, ActivationSource.FAMILY)
    assert outcome.retrying == 1
    for _run in range(MAX_ATTEMPTS + 2):
        make_due()
        run_retry_job()
    row = AlertDelivery.objects.get()
    assert row.state == DeliveryState.FAILED
    assert row.attempts == MAX_ATTEMPTS


def test_a_claim_cut_short_on_the_last_attempt_is_given_up_without_sending(smtp_inbox):
    plan = fill_plan(make_family().plan)
    activate_plan(plan, ActivationSource.FAMILY)
    smtp_inbox.messages.clear()
    row = AlertDelivery.objects.first()
    assert row is not None
    AlertDelivery.objects.filter(pk=row.pk).update(
        state=DeliveryState.SENDING, attempts=MAX_ATTEMPTS
    )
    make_due()
    assert "given up: 1" in run_retry_job()
    row.refresh_from_db()
    assert row.state == DeliveryState.FAILED
    assert smtp_inbox.messages == []


def test_the_sms_gateway_answering_503_then_202_gets_one_message(smtp_inbox, sms_gateway):
    plan = fill_plan(make_family().plan)
    EmergencyContact.objects.create(
        plan=plan, name="Tío", language="es", channel=ContactChannel.SMS, phone="+15550100999"
    )
    EmergencyContact.objects.create(
        plan=plan, name="Prima", language="es", channel=ContactChannel.SMS, phone="+15550100888"
    )
    sms_gateway.answer_status = 503
    outcome = activate_plan(plan, ActivationSource.FAMILY)
    assert (outcome.sent, outcome.retrying) == (2, 2)
    keys = {r.body["to"]: r.headers["Idempotency-Key"] for r in sms_gateway.received}
    assert len(set(keys.values())) == 2
    sms_gateway.received.clear()

    sms_gateway.answer_status = 202
    make_due()
    run_retry_job()
    assert sorted(r.body["to"] for r in sms_gateway.received) == ["+15550100888", "+15550100999"]
    # Each retry carries its message's key, in the header and the body, as the first try did.
    for request in sms_gateway.received:
        assert request.headers["Idempotency-Key"] == keys[request.body["to"]]
        assert request.body["id"] == keys[request.body["to"]]
    run_retry_job()
    assert len(sms_gateway.received) == 2


def test_a_gateway_refusal_for_good_is_not_retried(smtp_inbox, sms_gateway):
    plan = fill_plan(make_family().plan)
    EmergencyContact.objects.create(
        plan=plan, name="Tío", language="es", channel=ContactChannel.SMS, phone="+15550100999"
    )
    sms_gateway.answer_status = 400
    outcome = activate_plan(plan, ActivationSource.FAMILY)
    assert (outcome.sent, outcome.retrying, outcome.failed) == (2, 0, 1)


def test_the_alerts_page_shows_each_messages_state(moody_server):
    # In English, so the page's words are the ones asserted whatever the catalogues hold.
    plan = fill_plan(make_family(language="en").plan)
    set_pin(plan, "4821")
    moody_server.refuse = 1
    client = Client()
    client.post(reverse("preparedness:sign_in"), {"username": "rivera", "passphrase": PASSPHRASE})
    response = client.post(reverse("preparedness:activate"), {"pin": "4821"}, follow=True)
    page = response.content.decode()
    assert "1 message could not be sent yet. It will be tried again" in page
    assert "Rosa" in page
    assert "Not sent yet, will be tried again" in page
    assert "Tried 1 time;" in page
    assert page.count("<strong>Sent</strong>") == 1

    make_due()
    run_retry_job()
    page = client.get(reverse("preparedness:alerts")).content.decode()
    assert page.count("<strong>Sent</strong>") == 2
    assert "will be tried again" not in page


def test_the_activation_intake_has_its_own_channel_on_the_case_page(smtp_inbox):
    plan = fill_plan(make_family().plan)
    outcome = activate_plan(plan, ActivationSource.FAMILY)
    assert outcome.activation.case_id is not None
    case = Case.objects.get(pk=outcome.activation.case_id)
    intake = case.intakes.get()
    assert intake.channel == IntakeChannel.PLAN_ACTIVATION
    client, _user = staff_client(Role.COORDINATOR)
    page = client.get(reverse("hotline:case", args=[case.pk])).content.decode()
    assert "(Plan activation)" in page


def test_the_retry_job_is_scheduled_every_minute():
    entries = {entry.command: entry.every for entry in available_housekeeping()}
    assert entries["sendplanalerts"] == timedelta(minutes=1)
