"""Reminders before each deadline to the assigned attorney and the coordinators."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.dateformat import format as date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from amparo.accounts.models import User
from amparo.accounts.roles import Role
from amparo.hotline.models import Case, Deadline, DeadlineKind, DeadlineReminder

logger = logging.getLogger(__name__)

# Days before the due date at which a reminder goes out; each is sent once per person.
REMINDER_LEADS = (14, 7, 3, 1, 0)


def _when_due(kind: str, due: date, days_left: int) -> str:
    """When the deadline falls, with its weekday, in the active language."""
    values = {
        "kind": kind,
        "weekday": date_format(due, "l"),
        "due": due.isoformat(),
        "days": abs(days_left),
    }
    if days_left > 0:
        return (
            ngettext(
                "%(kind)s by %(weekday)s %(due)s (%(days)d day left).",
                "%(kind)s by %(weekday)s %(due)s (%(days)d days left).",
                days_left,
            )
            % values
        )
    if days_left == 0:
        return _("%(kind)s is due today, %(weekday)s %(due)s.") % values
    return (
        ngettext(
            "OVERDUE: %(kind)s was due %(weekday)s %(due)s, %(days)d day ago.",
            "OVERDUE: %(kind)s was due %(weekday)s %(due)s, %(days)d days ago.",
            -days_left,
        )
        % values
    )


@dataclass(frozen=True)
class ReminderOutcome:
    sent: int
    failed: list[str]
    # Deadlines a reminder was due for with nobody to send it to (no email address on file).
    unreachable: list[Deadline] = field(default_factory=list)


def recipients_for_case(case: Case) -> list[User]:
    """Who is reminded of the case's deadlines: the active coordinators and the assigned
    attorney, each only if they have an email address."""
    people = list(User.objects.filter(role=Role.COORDINATOR, is_active=True).exclude(email=""))
    attorney = case.assigned_attorney
    if attorney is not None and attorney.is_active and attorney.email:
        people.append(attorney)
    return people


def recipients_for(deadline: Deadline) -> list[User]:
    return recipients_for_case(deadline.case)


def lead_for(days_left: int) -> int | None:
    """The smallest reminder lead that has been reached, or None if too early."""
    reached = [lead for lead in REMINDER_LEADS if days_left <= lead]
    return min(reached) if reached and days_left >= 0 else (0 if days_left < 0 else None)


def send_deadline_reminders(today: date | None = None) -> ReminderOutcome:
    """Send whatever reminder is due for each open deadline; running twice sends nothing new."""
    from amparo.notify.mail import send_email

    today = today or timezone.localdate()
    sent = 0
    failed: list[str] = []
    unreachable: list[Deadline] = []
    deadlines = Deadline.objects.filter(done_at=None, case__merged_into=None).select_related(
        "case", "case__assigned_attorney"
    )
    for deadline in deadlines:
        days_left = (deadline.due_on - today).days
        lead = lead_for(days_left)
        if lead is None:
            continue
        people = recipients_for(deadline)
        if not people:
            # Said every run until someone has an address: a missed appeal cannot be undone.
            unreachable.append(deadline)
            logger.warning(
                "deadline %s on case %s (due %s) has nobody to remind: no active coordinator "
                "or assigned attorney has an email address",
                deadline.pk,
                deadline.case_id,
                deadline.due_on.isoformat(),
            )
            continue
        for person in people:
            try:
                with transaction.atomic():
                    DeadlineReminder.objects.create(
                        deadline=deadline, recipient=person, days_before=lead
                    )
                    link = f"{settings.SITE_URL}/hotline/cases/{deadline.case_id}/"
                    # In the language each person chose for themselves, else the site's.
                    with translation.override(person.preferred_language or settings.LANGUAGE_CODE):
                        kind = str(DeadlineKind(deadline.kind).label)
                        subject = _("Deadline on case %(case)s: %(due)s") % {
                            "case": deadline.case_id,
                            "due": deadline.due_on.isoformat(),
                        }
                        body = f"{_when_due(kind, deadline.due_on, days_left)}\n\n{link}"
                    send_email(person.email, subject, body)
            except IntegrityError:
                continue  # already reminded at this lead
            except OSError as error:
                # The row rolled back with the failed send, so the next run tries again.
                failed.append(f"deadline {deadline.pk} to user {person.pk}: {error}")
                continue
            sent += 1
    return ReminderOutcome(sent=sent, failed=failed, unreachable=unreachable)
