"""Teach-ins and training sessions: RSVPs, the waiting list, check-in at the door, retention."""

from __future__ import annotations

import base64
import io
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import segno
from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from amparo.accounts.models import User
from amparo.notify.mail import InlineImage, send_email
from amparo.notify.sms import send_sms, sms_available
from amparo.training.models import Event, Rsvp, RsvpStatus

logger = logging.getLogger(__name__)

DEFAULT_RSVP_RETENTION_DAYS = 30
REMINDER_LEAD = timedelta(days=1)


def rsvp_retention_days() -> int:
    return int(getattr(settings, "AMPARO_RSVP_RETENTION_DAYS", DEFAULT_RSVP_RETENTION_DAYS))


@dataclass(frozen=True)
class EventCounts:
    confirmed: int
    waiting: int
    checked_in: int
    walk_ins: int


def event_counts(event: Event) -> EventCounts:
    rsvps = event.rsvps.all()
    return EventCounts(
        confirmed=rsvps.filter(status=RsvpStatus.CONFIRMED).count(),
        waiting=rsvps.filter(status=RsvpStatus.WAITING).count(),
        checked_in=rsvps.filter(checked_in_at__isnull=False).count(),
        walk_ins=rsvps.filter(walk_in=True).count(),
    )


def places_left(event: Event) -> int:
    confirmed = event.rsvps.filter(status=RsvpStatus.CONFIRMED).count()
    return max(event.capacity - confirmed, 0)


class RsvpClosed(ValueError):
    """The event has ended or is not published."""


@transaction.atomic
def make_rsvp(
    event: Event, name: str, *, email: str = "", phone: str = "", at: datetime | None = None
) -> Rsvp:
    """Take a place if one is left, else a place on the waiting list."""
    now = at or timezone.now()
    # Lock the event row so two last-minute RSVPs cannot both take the final place.
    locked = Event.objects.select_for_update().get(pk=event.pk)
    if not locked.published or locked.ends_at <= now:
        raise RsvpClosed(_("This event is no longer taking RSVPs."))
    status = RsvpStatus.CONFIRMED if places_left(locked) > 0 else RsvpStatus.WAITING
    return Rsvp.objects.create(
        event=locked,
        name=name.strip(),
        email=email.strip(),
        phone=phone.strip(),
        status=status,
        created_at=now,
    )


@transaction.atomic
def cancel_rsvp(rsvp: Rsvp) -> Rsvp | None:
    """Give the place up; the first person waiting takes it. Returns who was promoted."""
    event = Event.objects.select_for_update().get(pk=rsvp.event_id)
    was_confirmed = rsvp.status == RsvpStatus.CONFIRMED
    rsvp.status = RsvpStatus.CANCELLED
    rsvp.save(update_fields=["status"])
    if not was_confirmed or places_left(event) == 0:
        return None
    promoted = event.rsvps.filter(status=RsvpStatus.WAITING).order_by("created_at", "id").first()
    if promoted is not None:
        promoted.status = RsvpStatus.CONFIRMED
        promoted.save(update_fields=["status"])
    return promoted


def check_in(rsvp: Rsvp, trainer: User, at: datetime | None = None) -> bool:
    """Mark the person present. Returns False if they were already checked in."""
    if rsvp.checked_in_at is not None:
        return False
    rsvp.checked_in_at = at or timezone.now()
    rsvp.checked_in_by = trainer
    if rsvp.status != RsvpStatus.CONFIRMED:
        # Someone from the waiting list who came anyway and was let in.
        rsvp.status = RsvpStatus.CONFIRMED
    rsvp.save(update_fields=["checked_in_at", "checked_in_by", "status"])
    return True


def add_walk_in(event: Event, name: str, trainer: User, at: datetime | None = None) -> Rsvp:
    """Someone who came without an RSVP; they are present, so capacity does not apply."""
    now = at or timezone.now()
    return Rsvp.objects.create(
        event=event,
        name=name.strip(),
        status=RsvpStatus.CONFIRMED,
        walk_in=True,
        created_at=now,
        checked_in_at=now,
        checked_in_by=trainer,
    )


def search_rsvps(event: Event, query: str) -> QuerySet[Rsvp]:
    found = event.rsvps.filter(purged_at__isnull=True).exclude(status=RsvpStatus.CANCELLED)
    query = query.strip()
    if query:
        found = found.filter(name__icontains=query)
    return found.order_by("name", "id")


# --- QR codes ------------------------------------------------------------------------------


def checkin_url(rsvp: Rsvp) -> str:
    if not rsvp.checkin_token:
        raise ValueError("this RSVP's data has been deleted")
    return settings.SITE_URL + reverse("training:check_in", args=[rsvp.checkin_token])


def confirmation_url(rsvp: Rsvp) -> str:
    if not rsvp.access_token:
        raise ValueError("this RSVP's data has been deleted")
    return settings.SITE_URL + reverse("training:rsvp_confirmation", args=[rsvp.access_token])


def qr_svg_data_uri(url: str) -> str:
    """An <img src> for a QR code of `url`; a data: URI, which the CSP allows for images."""
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="svg", scale=6, border=4, xmldecl=False)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def qr_png(url: str) -> bytes:
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="png", scale=6, border=4)
    return buffer.getvalue()


# --- Reminders and retention ------------------------------------------------------------------


def send_event_reminders(at: datetime | None = None) -> int:
    """Remind each confirmed person of an event starting within a day, once. Returns how many."""
    now = at or timezone.now()
    due = (
        Rsvp.objects.filter(
            status=RsvpStatus.CONFIRMED,
            reminder_sent_at__isnull=True,
            purged_at__isnull=True,
            checked_in_at__isnull=True,
            event__starts_at__gt=now,
            event__starts_at__lte=now + REMINDER_LEAD,
        )
        .exclude(email="", phone="")
        .select_related("event")
    )
    sent = 0
    for rsvp in due:
        with transaction.atomic():
            claimed = Rsvp.objects.filter(pk=rsvp.pk, reminder_sent_at__isnull=True).update(
                reminder_sent_at=now
            )
            if not claimed:
                continue
            if rsvp.email:
                _email_reminder(rsvp)
            elif sms_available():
                send_sms(rsvp.phone, _sms_text(rsvp))
            else:
                logger.warning(
                    "RSVP %s asked for a text reminder but no SMS gateway is set", rsvp.pk
                )
                continue
        sent += 1
    return sent


def _reminder_context(rsvp: Rsvp) -> dict[str, object]:
    return {
        "rsvp": rsvp,
        "event": rsvp.event,
        "confirmation_url": confirmation_url(rsvp),
        "network_name": settings.NETWORK_NAME,
    }


def _email_reminder(rsvp: Rsvp) -> None:
    language = rsvp.event.languages.split(",")[0].strip() or settings.LANGUAGE_CODE
    with translation.override(language):
        context = _reminder_context(rsvp)
        subject = _("Reminder: %(title)s") % {"title": rsvp.event.title}
        text = render_to_string("training/email/event_reminder.txt", context)
        html = render_to_string("training/email/event_reminder.html", context)
    send_email(
        rsvp.email,
        subject,
        text,
        html=html,
        images=(InlineImage("checkin-qr", qr_png(checkin_url(rsvp))),),
    )


def _sms_text(rsvp: Rsvp) -> str:
    return _("Reminder: %(title)s, %(when)s. Your QR code for the door: %(url)s") % {
        "title": rsvp.event.title,
        "when": timezone.localtime(rsvp.event.starts_at).strftime("%Y-%m-%d %H:%M"),
        "url": confirmation_url(rsvp),
    }


def purge_rsvps(at: datetime | None = None) -> int:
    """Blank the personal data of RSVPs to events that ended long enough ago. Idempotent.

    The rows stay, without name, contact or tokens, so attendance can still be counted.
    """
    now = at or timezone.now()
    cutoff = now - timedelta(days=rsvp_retention_days())
    return Rsvp.objects.filter(purged_at__isnull=True, event__ends_at__lte=cutoff).update(
        name="", email="", phone="", access_token=None, checkin_token=None, purged_at=now
    )


def upcoming_public_events(at: datetime | None = None) -> QuerySet[Event]:
    now = at or timezone.now()
    return Event.objects.filter(published=True, ends_at__gt=now)
