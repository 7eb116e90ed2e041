from __future__ import annotations

import base64
import io
from datetime import timedelta
from unittest import mock

import pytest
import segno
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from amparo.accounts.roles import Role
from amparo.training import events
from amparo.training.models import Rsvp, RsvpStatus
from tests.notify.loopback import SmsGateway, SmtpInbox
from tests.training.clients import signed_in_client
from tests.training.factories import JAN_1, event, person

pytestmark = pytest.mark.django_db


def test_capacity_then_waiting_list_then_promotion() -> None:
    teach_in = event(capacity=2)
    first = events.make_rsvp(teach_in, "Ana", at=JAN_1)
    events.make_rsvp(teach_in, "Beto", at=JAN_1)
    third = events.make_rsvp(teach_in, "Carla", at=JAN_1)
    assert [first.status, third.status] == [RsvpStatus.CONFIRMED, RsvpStatus.WAITING]
    promoted = events.cancel_rsvp(first)
    assert promoted == third
    third.refresh_from_db()
    assert third.status == RsvpStatus.CONFIRMED


def test_no_rsvp_after_the_event() -> None:
    teach_in = event(starts_at=JAN_1 - timedelta(days=1))
    with pytest.raises(events.RsvpClosed):
        events.make_rsvp(teach_in, "Ana", at=JAN_1)


def test_rsvps_keep_no_address_or_browser() -> None:
    names = {field.name for field in Rsvp._meta.get_fields()}
    assert not any(word in name for name in names for word in ("ip", "agent", "address"))


def decode_data_uri(uri: str) -> bytes:
    assert uri.startswith("data:image/svg+xml;base64,")
    return base64.b64decode(uri.split(",", 1)[1])


def svg_of(url: str) -> bytes:
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="svg", scale=6, border=4, xmldecl=False)
    return buffer.getvalue()


def test_visitor_rsvps_gets_a_qr_code_and_is_checked_in_by_scanning(client: Client) -> None:
    teach_in = event(starts_at=timezone.now() + timedelta(days=3))
    page = client.get(reverse("training:event_public", args=[teach_in.public_id]))
    assert b"delete them 30 days after it ends" in page.content
    response = client.post(
        reverse("training:event_public", args=[teach_in.public_id]),
        {"name": "Luz", "email": "", "phone": ""},
    )
    rsvp = Rsvp.objects.get()
    assert response["Location"] == reverse("training:rsvp_confirmation", args=[rsvp.access_token])
    assert "Luz" not in response["Location"]
    confirmation = client.get(response["Location"])
    assert confirmation["Cache-Control"] == "no-store"
    html = confirmation.content.decode()
    qr_uri = html.split('id="checkin-qr" src="', 1)[1].split('"', 1)[0]
    # The QR encodes exactly the check-in URL, whose only variable part is a random token.
    check_in_url = events.checkin_url(rsvp)
    assert decode_data_uri(qr_uri) == svg_of(check_in_url)
    assert check_in_url.endswith(f"/training/check-in/{rsvp.checkin_token}/")
    assert rsvp.checkin_token
    assert len(rsvp.checkin_token) >= 32

    trainer = signed_in_client(person("tomas", Role.TRAINER))
    path = reverse("training:check_in", args=[rsvp.checkin_token])
    shown = trainer.get(path)
    assert b"Luz" in shown.content
    rsvp.refresh_from_db()
    assert rsvp.checked_in_at is None, "GET must never check anyone in"
    trainer.post(path)
    rsvp.refresh_from_db()
    assert rsvp.checked_in_at is not None
    assert rsvp.checked_in_by is not None


def test_scanning_needs_a_signed_in_trainer(client: Client) -> None:
    rsvp = events.make_rsvp(event(starts_at=timezone.now() + timedelta(days=1)), "Luz")
    path = reverse("training:check_in", args=[rsvp.checkin_token])
    assert client.post(path).status_code == 302
    assert signed_in_client(person("olga")).post(path).status_code == 403
    rsvp.refresh_from_db()
    assert rsvp.checked_in_at is None


def test_door_search_and_walk_ins() -> None:
    teach_in = event(capacity=1, starts_at=timezone.now() + timedelta(hours=1))
    events.make_rsvp(teach_in, "Maria Lopez")
    events.make_rsvp(teach_in, "Ana")
    trainer = signed_in_client(person("tomas", Role.TRAINER))
    door = trainer.get(reverse("training:event_door", args=[teach_in.pk]), {"q": "lop"})
    assert b"Maria Lopez" in door.content
    assert b"Check in Ana" not in door.content
    trainer.post(reverse("training:walk_in", args=[teach_in.pk]), {"name": "Pedro"})
    walk_in = Rsvp.objects.get(name="Pedro")
    assert walk_in.walk_in
    assert walk_in.checked_in_at is not None
    assert events.event_counts(teach_in).walk_ins == 1


def test_personal_data_is_gone_after_the_retention_period() -> None:
    teach_in = event(starts_at=JAN_1)
    rsvp = events.make_rsvp(teach_in, "Luz", email="luz@example.org", at=JAN_1 - timedelta(1))
    events.check_in(rsvp, person("tomas", Role.TRAINER), at=JAN_1)
    ended = teach_in.ends_at
    assert events.purge_rsvps(at=ended + timedelta(days=29)) == 0
    assert events.purge_rsvps(at=ended + timedelta(days=30)) == 1
    assert events.purge_rsvps(at=ended + timedelta(days=31)) == 0
    rsvp.refresh_from_db()
    assert (rsvp.name, rsvp.email, rsvp.phone) == ("", "", "")
    assert rsvp.access_token is None
    assert rsvp.checkin_token is None
    assert events.event_counts(teach_in).checked_in == 1


def test_purgersvps_command_uses_the_clock(settings) -> None:
    settings.AMPARO_RSVP_RETENTION_DAYS = 7
    teach_in = event(starts_at=timezone.now() - timedelta(days=9))
    Rsvp.objects.create(event=teach_in, name="Luz", status=RsvpStatus.CONFIRMED)
    out = io.StringIO()
    call_command("purgersvps", stdout=out)
    call_command("purgersvps", stdout=out)
    assert "of 1 RSVP(s)" in out.getvalue()
    assert "of 0 RSVP(s)" in out.getvalue()
    assert Rsvp.objects.get().name == ""


def test_email_reminder_the_day_before_carries_the_qr_once(smtp_inbox: SmtpInbox) -> None:
    teach_in = event(starts_at=JAN_1 + timedelta(days=2))
    rsvp = events.make_rsvp(teach_in, "Luz", email="luz@example.org", at=JAN_1)
    assert events.send_event_reminders(at=JAN_1) == 0
    day_before = teach_in.starts_at - timedelta(hours=20)
    assert events.send_event_reminders(at=day_before) == 1
    assert events.send_event_reminders(at=day_before + timedelta(hours=1)) == 0
    [message] = smtp_inbox.to("luz@example.org")
    [image] = [p for p in message.walk() if p.get_content_type() == "image/png"]
    buffer = io.BytesIO()
    segno.make(events.checkin_url(rsvp), error="m").save(buffer, kind="png", scale=6, border=4)
    assert image.get_payload(decode=True) == buffer.getvalue()


def test_text_reminder_through_the_gateway(sms_gateway: SmsGateway) -> None:
    teach_in = event(starts_at=JAN_1 + timedelta(hours=10))
    rsvp = events.make_rsvp(teach_in, "Luz", phone="+15551230000", at=JAN_1)
    assert events.send_event_reminders(at=JAN_1) == 1
    [request] = sms_gateway.received
    assert request.body["to"] == "+15551230000"
    assert events.confirmation_url(rsvp) in request.body["text"]


def test_a_gateway_failure_leaves_the_reminder_for_next_time(sms_gateway: SmsGateway) -> None:
    teach_in = event(starts_at=JAN_1 + timedelta(hours=10))
    rsvp = events.make_rsvp(teach_in, "Luz", phone="+15551230000", at=JAN_1)
    sms_gateway.answer_status = 500
    with pytest.raises(RuntimeError, match="500"):
        events.send_event_reminders(at=JAN_1)
    rsvp.refresh_from_db()
    assert rsvp.reminder_sent_at is None
    sms_gateway.answer_status = 202
    assert events.send_event_reminders(at=JAN_1) == 1


def test_public_rsvp_form_validates_the_phone(client: Client) -> None:
    teach_in = event(starts_at=timezone.now() + timedelta(days=3))
    with mock.patch("amparo.training.events.make_rsvp") as made:
        response = client.post(
            reverse("training:event_public", args=[teach_in.public_id]),
            {"name": "Luz", "phone": "call me maybe"},
        )
    assert response.status_code == 200
    assert not made.called
