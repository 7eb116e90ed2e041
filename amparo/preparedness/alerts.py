"""Activating a plan: one message per contact, sent once, and a hotline intake.

A second activation within ACTIVATION_WINDOW sends nothing and opens nothing. Each
message is a row with a unique idempotency key and a unique (activation, contact) pair,
claimed by a conditional update before it is sent, so two senders never race for one row.

What "once" means, honestly: a row is marked SENT as soon as its adapter (the SMTP server
or the SMS gateway) acknowledges it, and a SENT row is never taken again. A send that fails
with a temporary error is tried again later (RETRY, with a growing delay, at most
MAX_ATTEMPTS times in all); a refusal for good (no address, a 5xx from the mail server, a
4xx from the gateway) is not. A row left SENDING for CLAIM_TIMEOUT means its sender died or
hung mid-send; it is taken over and sent again, because a contact who hears nothing is worse
than one who hears twice. That one case, a process dying between the adapter's
acknowledgment and the one-row update that records it, can deliver a message twice; nothing
else can. Both sendings then carry the same Message-ID (email) or Idempotency-Key (the SMS
gateway), made from the row's key, so a receiving side that keeps them can drop the repeat.
The retry job is the `sendplanalerts` housekeeping command.
"""

from __future__ import annotations

import hashlib
import smtplib
import urllib.error
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from amparo.accounts.models import User
from amparo.audit.services import record
from amparo.hotline.models import IntakeChannel
from amparo.hotline.services import IntakeAnswers, record_intake
from amparo.notify.mail import send_email
from amparo.notify.sms import SmsRefused, send_sms
from amparo.preparedness.alert_templates import REVIEWED_LANGUAGES, alert_text
from amparo.preparedness.models import (
    Activation,
    ActivationSource,
    AlertDelivery,
    ContactChannel,
    DeliveryState,
    EmergencyContact,
    MayBeTold,
    Plan,
    RepresentationForm,
    TrustedPerson,
)
from amparo.preparedness.services import format_reference, plan_target

ACTIVATION_WINDOW = timedelta(hours=1)
# A claim this old is a sender that died or hung; longer than any adapter takes to answer.
CLAIM_TIMEOUT = timedelta(minutes=10)
# Attempts in all, and the wait after the 1st, 2nd, ... failed one (about 50 minutes).
MAX_ATTEMPTS = 6
RETRY_DELAYS = tuple(timedelta(minutes=m) for m in (1, 2, 5, 10, 30))


def hotline_number() -> str:
    return str(getattr(settings, "AMPARO_HOTLINE_NUMBER", "") or "")


def hotline_uri(number: str) -> str:
    """A tel: URI for the number, keeping only what a dialler reads."""
    return "tel:" + "".join(ch for ch in number if ch.isdigit() or ch == "+")


@dataclass(frozen=True)
class ActivationOutcome:
    activation: Activation
    repeated: bool  # True: an activation within the hour already ran; nothing was sent now
    sent: int
    failed: int  # refused for good, or out of attempts
    retrying: int = 0  # not sent yet; the retry job tries again


def _caregivers(plan: Plan) -> str:
    lines = []
    for child in plan.members.filter(is_child=True):
        carers = [c for c in (child.primary_caregiver, child.backup_caregiver) if c]
        lines.append(f"{child.name}: {', '.join(carers) or '?'}")
    return "; ".join(lines)


def _attorney(plan: Plan) -> str:
    return ", ".join(p for p in (plan.attorney_name, plan.attorney_phone) if p) or "-"


def _person(plan: Plan) -> str:
    return plan.person_name or plan.account.display_name


def compose_message(plan: Plan, contact: EmergencyContact) -> tuple[str, str]:
    """Subject and text for one contact, holding only what the family allows them to know."""
    text = alert_text(contact.language)
    facts = {
        "contact": contact.name,
        "family": plan.account.display_name,
        "hotline": hotline_number() or "-",
        "person": _person(plan),
        "attorney": _attorney(plan),
        "caregivers": _caregivers(plan) or "-",
    }
    subject = text["subject"].format(**facts)
    if contact.message.strip():
        body = contact.message.strip() + "\n\n" + text["needs_help"].format(**facts)
        return subject, body
    parts = [text["needs_help"].format(**facts)]
    if contact.may_be_told in (MayBeTold.DETAINED, MayBeTold.CHILDREN):
        parts.append(text["detained"].format(**facts))
    if contact.may_be_told == MayBeTold.CHILDREN:
        parts.append(text["children"].format(**facts))
    if contact.language not in REVIEWED_LANGUAGES and text["unreviewed"]:
        parts.append(text["unreviewed"])
    return subject, "\n\n".join(parts)


def intake_answers(plan: Plan, activation: Activation) -> IntakeAnswers:
    """What the plan tells the hotline, in the staff's default language."""
    children = list(plan.members.filter(is_child=True))
    with translation.override(settings.LANGUAGE_CODE):
        if activation.source == ActivationSource.TRUSTED and activation.trusted_person:
            caller, relationship = activation.trusted_person.name, _("trusted person in the plan")
        elif activation.source == ActivationSource.HOTLINE and activation.volunteer:
            caller = activation.volunteer.name_for_display
            relationship = _("hotline volunteer, for the family")
        else:
            caller, relationship = plan.account.display_name, _("the family")
        carers = []
        for child in children:
            line = f"{child.name}: {child.primary_caregiver or '?'}"
            if child.primary_caregiver_phone:
                line += f" ({child.primary_caregiver_phone})"
            if child.backup_caregiver:
                line += " / " + _("backup") + f": {child.backup_caregiver}"
                if child.backup_caregiver_phone:
                    line += f" ({child.backup_caregiver_phone})"
            if child.instrument:
                line += f" [{child.get_instrument_display()}]"
            carers.append(line)
        attorney = ", ".join(
            p for p in (plan.attorney_name, plan.attorney_organization, plan.attorney_phone) if p
        )
        if attorney and plan.representation_form == RepresentationForm.YES:
            attorney += " — " + _("representation form on file")
        return IntakeAnswers(
            caller_name=caller[:200],
            caller_relationship=str(relationship)[:100],
            caller_language=plan.account.language,
            legal_name=_person(plan)[:300],
            children="\n".join(child.name for child in children),
            children_with="\n".join(carers),
            medical_needs="\n".join(f"{c.name}: {c.allergies}" for c in children if c.allergies),
            medication="\n".join(f"{c.name}: {c.medication}" for c in children if c.medication),
            existing_attorney=attorney,
            needs_childcare=bool(children),
            needs_other=_("Opened by activating the family's preparedness plan %(reference)s.")
            % {"reference": format_reference(plan.reference)},
            consent_share_with_attorneys=plan.share_with_attorneys,
        )


def _idempotency_key(activation: Activation, contact: EmergencyContact) -> str:
    return hashlib.sha256(f"plan-alert:{activation.pk}:{contact.pk}".encode()).hexdigest()


def _who(activation: Activation) -> str:
    if activation.trusted_person_id:
        return f"{activation.source} trusted:{activation.trusted_person_id}"
    if activation.volunteer_id:
        return f"{activation.source} user:{activation.volunteer_id}"
    return str(activation.source)


def activate_plan(
    plan: Plan,
    source: ActivationSource,
    *,
    trusted_person: TrustedPerson | None = None,
    volunteer: User | None = None,
) -> ActivationOutcome:
    """Open an intake and send every contact their message once; nothing twice in an hour."""
    now = timezone.now()
    with transaction.atomic():
        # Holding the plan's row serialises activations of one plan.
        locked = Plan.objects.select_for_update().select_related("account").get(pk=plan.pk)
        recent = Activation.objects.filter(plan=locked, at__gt=now - ACTIVATION_WINDOW).first()
        if recent is None:
            try:
                with transaction.atomic():
                    activation = Activation.objects.create(
                        plan=locked,
                        at=now,
                        source=source,
                        trusted_person=trusted_person,
                        volunteer=volunteer,
                        hour=int(now.timestamp() // 3600),
                    )
            except IntegrityError:
                recent = Activation.objects.filter(plan=locked).first()
        if recent is not None:
            record(
                volunteer,
                "family.plan_activation_repeated",
                target=plan_target(locked),
                detail=f"by {source}; already activated at {recent.at.isoformat()}",
            )
            return ActivationOutcome(recent, repeated=True, sent=0, failed=0)
        intake = record_intake(
            intake_answers(locked, activation), IntakeChannel.PLAN_ACTIVATION, taken_by=volunteer
        )
        activation.case = intake.case
        activation.save(update_fields=["case"])
        for contact in locked.contacts.all():
            subject, text = compose_message(locked, contact)
            by_email = contact.channel == ContactChannel.EMAIL
            AlertDelivery.objects.create(
                activation=activation,
                contact=contact,
                idempotency_key=_idempotency_key(activation, contact),
                channel=contact.channel,
                address=contact.email if by_email else contact.phone,
                subject=subject[:200],
                text=text,
                # Sent just below; the retry job takes it only if this process never does.
                next_attempt_at=now + CLAIM_TIMEOUT,
            )
    record(
        volunteer,
        "family.plan_activated",
        target=plan_target(locked),
        detail=f"by {_who(activation)} at {now.isoformat()}; case:{intake.case.pk}",
    )
    counts = send_pending(activation)
    return ActivationOutcome(
        activation,
        repeated=False,
        sent=counts.sent,
        failed=counts.failed,
        retrying=counts.retrying,
    )


def _claimed(delivery: AlertDelivery, now: datetime) -> bool:
    """Take the row for one attempt; a conditional update, so only one sender ever wins it."""
    taken = AlertDelivery.objects.filter(pk=delivery.pk, state=delivery.state)
    if delivery.state == DeliveryState.SENDING:
        # A stale claim is taken over only if nobody else took it over meanwhile.
        taken = taken.filter(claimed_at=delivery.claimed_at)
    return (
        taken.update(state=DeliveryState.SENDING, claimed_at=now, attempts=F("attempts") + 1) == 1
    )


class NoAddress(ValueError):
    """The contact has no address for the channel chosen."""


def is_temporary(error: Exception) -> bool:
    """Whether trying again later could succeed; a refusal for good is not retried."""
    if isinstance(error, NoAddress):
        return False
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _text in error.recipients.values()]
        return not codes or any(code < 500 for code in codes)
    if isinstance(error, smtplib.SMTPAuthenticationError):
        return True  # the operator's credentials, not the contact's address
    if isinstance(error, smtplib.SMTPResponseException):
        return not 500 <= error.smtp_code < 600
    if isinstance(error, SmsRefused) and isinstance(error.__cause__, urllib.error.HTTPError):
        status = error.__cause__.code
        return not (400 <= status < 500 and status not in (408, 429))
    # Unreachable servers, timeouts, dropped connections, an unset gateway: try again.
    return True


def _attempt(delivery: AlertDelivery, claimed_at: datetime) -> DeliveryState:
    """Send one row claimed at ``claimed_at`` through its adapter and record what happened."""
    try:
        if not delivery.address:
            raise NoAddress("the contact has no address for this channel")
        if delivery.channel == ContactChannel.EMAIL:
            send_email(
                delivery.address,
                delivery.subject,
                delivery.text,
                idempotency_key=f"amparo-alert-{delivery.idempotency_key}",
            )
        else:
            send_sms(
                delivery.address,
                delivery.text,
                idempotency_key=f"amparo-alert-{delivery.idempotency_key}",
            )
    # Any failure is recorded on its row; the other contacts still get their messages.
    except Exception as error:
        attempts = AlertDelivery.objects.get(pk=delivery.pk).attempts
        retry = is_temporary(error) and attempts < MAX_ATTEMPTS
        state = DeliveryState.RETRY if retry else DeliveryState.FAILED
        # Only while the claim is still ours: a sender that hung may have been taken over.
        AlertDelivery.objects.filter(
            pk=delivery.pk, state=DeliveryState.SENDING, claimed_at=claimed_at
        ).update(
            state=state,
            error=str(error)[:300],
            next_attempt_at=timezone.now() + retry_delay(attempts) if retry else None,
        )
        return state
    # Once the adapter has acknowledged it, the row is SENT and is never taken again.
    AlertDelivery.objects.filter(pk=delivery.pk).update(
        state=DeliveryState.SENT, sent_at=timezone.now(), error="", next_attempt_at=None
    )
    return DeliveryState.SENT


@dataclass
class SendCounts:
    sent: int = 0
    retrying: int = 0
    failed: int = 0

    def add(self, state: DeliveryState) -> None:
        if state == DeliveryState.SENT:
            self.sent += 1
        elif state == DeliveryState.RETRY:
            self.retrying += 1
        else:
            self.failed += 1


def send_pending(activation: Activation) -> SendCounts:
    """Send each waiting message of an activation, once."""
    counts = SendCounts()
    now = timezone.now()
    for delivery in AlertDelivery.objects.filter(
        activation=activation, state=DeliveryState.PENDING
    ):
        if _claimed(delivery, now):
            counts.add(_attempt(delivery, now))
    record(
        None,
        "family.alerts_sent",
        target=plan_target(activation.plan),
        detail=f"activation:{activation.pk} sent={counts.sent} "
        f"retrying={counts.retrying} failed={counts.failed}",
    )
    return counts


def delivery_summary(activation: Activation) -> list[tuple[str, int]]:
    """How many of an activation's messages are in each state, for the pages that show it."""
    found = Counter(activation.deliveries.values_list("state", flat=True))
    return [(str(state.label), found[state.value]) for state in DeliveryState if found[state.value]]


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the given number of attempts before the next."""
    return RETRY_DELAYS[min(attempts, len(RETRY_DELAYS)) - 1]


def due_deliveries(now: datetime) -> QuerySet[AlertDelivery]:
    """Rows the retry job should take now: never tried, to be tried again, or cut short."""
    return AlertDelivery.objects.filter(
        Q(state__in=[DeliveryState.PENDING, DeliveryState.RETRY], next_attempt_at__lte=now)
        | Q(state=DeliveryState.SENDING, claimed_at__lte=now - CLAIM_TIMEOUT)
    ).select_related("activation__plan")


def retry_alerts(now: datetime | None = None) -> SendCounts:
    """Retry every message that is due; safe to run as often as you like, from any worker."""
    now = now or timezone.now()
    counts = SendCounts()
    by_activation: dict[int, SendCounts] = {}
    for delivery in due_deliveries(now):
        if delivery.state == DeliveryState.SENDING and delivery.attempts >= MAX_ATTEMPTS:
            gave_up = AlertDelivery.objects.filter(
                pk=delivery.pk, state=DeliveryState.SENDING, claimed_at=delivery.claimed_at
            ).update(
                state=DeliveryState.FAILED,
                error="interrupted while sending; no attempts left",
                next_attempt_at=None,
            )
            state = DeliveryState.FAILED if gave_up else None
        elif _claimed(delivery, now):
            state = _attempt(delivery, now)
        else:
            state = None  # another worker took it first
        if state is not None:
            counts.add(state)
            by_activation.setdefault(delivery.activation_id, SendCounts()).add(state)
    for activation_id, done in by_activation.items():
        activation = Activation.objects.select_related("plan").get(pk=activation_id)
        record(
            None,
            "family.alerts_retried",
            target=plan_target(activation.plan),
            detail=f"activation:{activation_id} sent={done.sent} "
            f"retrying={done.retrying} failed={done.failed}",
        )
    return counts
