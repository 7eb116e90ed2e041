"""Activating a plan: one message per contact, sent once, and a hotline intake.

A second activation within ACTIVATION_WINDOW sends nothing and opens nothing. Each
message is a row with a unique idempotency key and a unique (activation, contact) pair,
claimed by a conditional update before it is sent, so no race and no retry sends twice.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from amparo.accounts.models import User
from amparo.audit.services import record
from amparo.hotline.models import IntakeChannel
from amparo.hotline.services import IntakeAnswers, record_intake
from amparo.notify.mail import send_email
from amparo.notify.sms import send_sms
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


def hotline_number() -> str:
    return str(getattr(settings, "AMPARO_HOTLINE_NUMBER", "") or "")


@dataclass(frozen=True)
class ActivationOutcome:
    activation: Activation
    repeated: bool  # True: an activation within the hour already ran; nothing was sent now
    sent: int
    failed: int


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
        channel = IntakeChannel.CALL if volunteer is not None else IntakeChannel.PUBLIC_FORM
        intake = record_intake(intake_answers(locked, activation), channel, taken_by=volunteer)
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
            )
    record(
        volunteer,
        "family.plan_activated",
        target=plan_target(locked),
        detail=f"by {_who(activation)} at {now.isoformat()}; case:{intake.case.pk}",
    )
    sent, failed = send_pending(activation)
    return ActivationOutcome(activation, repeated=False, sent=sent, failed=failed)


def send_pending(activation: Activation) -> tuple[int, int]:
    """Send each waiting message of an activation; returns (sent, failed)."""
    sent = failed = 0
    for delivery in AlertDelivery.objects.filter(
        activation=activation, state=DeliveryState.PENDING
    ):
        claimed = AlertDelivery.objects.filter(pk=delivery.pk, state=DeliveryState.PENDING).update(
            state=DeliveryState.SENDING
        )
        if claimed != 1:
            continue
        try:
            if not delivery.address:
                raise ValueError("the contact has no address for this channel")
            if delivery.channel == ContactChannel.EMAIL:
                send_email(delivery.address, delivery.subject, delivery.text)
            else:
                send_sms(delivery.address, delivery.text)
        # Any failure is recorded on its row; the other contacts still get their messages.
        except Exception as error:
            AlertDelivery.objects.filter(pk=delivery.pk).update(
                state=DeliveryState.FAILED, error=str(error)[:300]
            )
            failed += 1
            continue
        AlertDelivery.objects.filter(pk=delivery.pk).update(
            state=DeliveryState.SENT, sent_at=timezone.now()
        )
        sent += 1
    record(
        None,
        "family.alerts_sent",
        target=plan_target(activation.plan),
        detail=f"activation:{activation.pk} sent={sent} failed={failed}",
    )
    return sent, failed
