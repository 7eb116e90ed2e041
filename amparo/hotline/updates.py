"""Updates to the family: reviewed templates, in the caller's language, only what consent allows.

Delivery goes through the notification adapters in amparo.notify (SMTP email, HTTP SMS
gateway); `deliver` is the one place that calls them.
"""

from __future__ import annotations

import string
from typing import Any

from django.conf import settings
from django.core.mail import BadHeaderError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from amparo.accounts.models import User
from amparo.hotline.default_templates import DEFAULT_TEMPLATES
from amparo.hotline.models import (
    Case,
    CaseStatus,
    FamilyUpdate,
    Hearing,
    Intake,
    UpdateFact,
    UpdateTemplate,
)

# Which placeholder belongs to which consented fact; the rest are always allowed.
PLACEHOLDER_FACTS = {
    "facility": UpdateFact.LOCATION,
    "facility_address": UpdateFact.LOCATION,
    "facility_phone": UpdateFact.LOCATION,
    "status": UpdateFact.STATUS,
    "next_hearing": UpdateFact.HEARINGS,
    "attorney": UpdateFact.ATTORNEY,
    "organization": UpdateFact.ATTORNEY,
    "attorney_phone": UpdateFact.ATTORNEY,
}
ALWAYS_ALLOWED = {"caller", "person", "network"}
CONSENT_FIELDS = {
    UpdateFact.STATUS: "consent_updates_status",
    UpdateFact.LOCATION: "consent_updates_location",
    UpdateFact.HEARINGS: "consent_updates_hearings",
    UpdateFact.ATTORNEY: "consent_updates_attorney",
}


class UpdateRefused(ValueError):
    """This update cannot be sent; the message says why, for the volunteer to read."""


def install_default_templates() -> int:
    """Add the shipped templates that are missing, unreviewed. Returns how many were added."""
    added = 0
    for key, languages in DEFAULT_TEMPLATES.items():
        for language, text in languages.items():
            _template, created = UpdateTemplate.objects.get_or_create(
                key=key, language=language, defaults=dict(text)
            )
            added += int(created)
    return added


def mark_reviewed(template: UpdateTemplate, by: User) -> None:
    template.reviewed_by = by
    template.reviewed_at = timezone.now()
    template.save(update_fields=["reviewed_by", "reviewed_at"])


def edit_template(template: UpdateTemplate, subject: str, body: str) -> None:
    """Changing the words clears the review: the new text must be read again."""
    unknown = placeholders_in(subject + body) - set(PLACEHOLDER_FACTS) - ALWAYS_ALLOWED
    if unknown:
        raise UpdateRefused(
            _("Unknown placeholders: %(names)s") % {"names": ", ".join(sorted(unknown))}
        )
    facts = {
        str(PLACEHOLDER_FACTS[p]) for p in placeholders_in(subject + body) if p in PLACEHOLDER_FACTS
    }
    template.subject = subject
    template.body = body
    template.reveals = ",".join(sorted(facts))
    template.reviewed_at = None
    template.reviewed_by = None
    template.save()


def placeholders_in(text: str) -> set[str]:
    return {name for _text, name, _spec, _conversion in string.Formatter().parse(text) if name}


def consented_facts(intake: Intake) -> set[str]:
    return {str(fact) for fact, name in CONSENT_FIELDS.items() if getattr(intake, name)}


def _next_hearing(case: Case) -> str:
    upcoming = (
        Hearing.objects.filter(case=case, scheduled_for__gte=timezone.now())
        .order_by("scheduled_for")
        .first()
    )
    if upcoming is None or upcoming.scheduled_for is None:
        return ""
    when = timezone.localtime(upcoming.scheduled_for).strftime("%Y-%m-%d %H:%M")
    return ", ".join(part for part in (when, upcoming.court) if part)


def _facts(case: Case, allowed: set[str]) -> dict[str, str]:
    values: dict[str, str] = {
        "caller": "",
        "person": case.legal_name,
        "network": settings.NETWORK_NAME,
    }
    if UpdateFact.LOCATION in allowed:
        values |= {
            "facility": case.facility_name,
            "facility_address": case.facility_address,
            "facility_phone": case.facility_phone,
        }
    if UpdateFact.STATUS in allowed:
        values["status"] = str(CaseStatus(case.status).label)
    if UpdateFact.HEARINGS in allowed:
        values["next_hearing"] = _next_hearing(case)
    if UpdateFact.ATTORNEY in allowed and case.assigned_attorney is not None:
        attorney = case.assigned_attorney
        profile = getattr(attorney, "directory_profile", None)
        values |= {
            "attorney": attorney.name_for_display,
            "organization": attorney.organization.name if attorney.organization else "",
            "attorney_phone": profile.phone if profile else "",
        }
    return values


def render_update(template: UpdateTemplate, case: Case, intake: Intake) -> tuple[str, str]:
    """The subject and body, or UpdateRefused naming the fact consent does not cover."""
    allowed = consented_facts(intake)
    needed = template.revealed_facts() | {
        str(PLACEHOLDER_FACTS[p])
        for p in placeholders_in(template.subject + template.body)
        if p in PLACEHOLDER_FACTS
    }
    missing = needed - allowed
    if missing:
        raise UpdateRefused(
            _("The caller has not agreed to be told: %(facts)s")
            % {"facts": ", ".join(str(label) for label in describe_facts(missing))}
        )
    with translation.override(intake.caller_language):
        values = _facts(case, allowed)
    values["caller"] = intake.caller_name
    try:
        subject = template.subject.format_map(values)
        body = template.body.format_map(values)
    except KeyError as error:
        raise UpdateRefused(
            _("The template needs {%(name)s}, which is not known yet.") % {"name": error.args[0]}
        ) from error
    # A subject is one line: a name sent with a line break in it (the public form is a
    # text box, but anyone can post anything) must not break the email's header.
    return " ".join(subject.split()), body


def language_name(code: str) -> str:
    """The language's name in the reader's language; the code itself if Django does not know it."""
    try:
        return str(translation.get_language_info(code)["name_translated"])
    except KeyError:
        return code


def templates_for(intake: Intake) -> QuerySet[UpdateTemplate]:
    return UpdateTemplate.objects.filter(language=intake.caller_language, reviewed_at__isnull=False)


def deliver(channel: str, address: str, subject: str, body: str) -> None:
    """Hand one message to the notification adapter for its channel."""
    if channel == "email":
        from amparo.notify.mail import send_email

        send_email(address, subject, body)
    elif channel == "sms":
        from amparo.notify.sms import send_sms

        send_sms(address, body)
    else:
        raise UpdateRefused(
            _("There is no way to send updates by %(channel)s.") % {"channel": channel}
        )


def channel_and_address(intake: Intake) -> tuple[str, str]:
    if intake.update_channel == "email" and intake.caller_email:
        return "email", intake.caller_email
    if intake.update_channel == "sms" and intake.caller_phone:
        if not intake.safe_to_leave_message:
            raise UpdateRefused(_("The caller said it is not safe to leave them a message."))
        return "sms", intake.caller_phone
    raise UpdateRefused(_("The caller did not ask for updates by email or text message."))


def send_family_update(
    case: Case, intake: Intake, template_key: str, by: User | None
) -> FamilyUpdate:
    """Render a reviewed template in the caller's language and send it; record the attempt."""
    if intake.case_id != case.pk:
        raise UpdateRefused(_("This caller belongs to another case."))
    if not template_key:
        raise UpdateRefused(_("Choose which message to send."))
    template = UpdateTemplate.objects.filter(
        key=template_key, language=intake.caller_language
    ).first()
    if template is None:
        raise UpdateRefused(
            _("There is no “%(template)s” template in %(language)s.")
            % {"template": template_key, "language": language_name(intake.caller_language)}
        )
    if template.reviewed_at is None:
        raise UpdateRefused(_("This template has not been reviewed by the network yet."))
    channel, address = channel_and_address(intake)
    subject, body = render_update(template, case, intake)
    update = FamilyUpdate(
        case=case,
        intake=intake,
        template=template,
        channel=channel,
        sent_by=by,
        subject=subject[:300],
        body=body,
    )
    try:
        deliver(channel, address, subject, body)
    except (OSError, RuntimeError, BadHeaderError) as error:
        update.failure = str(error)[:300]
    else:
        update.delivered = True
    with transaction.atomic():
        update.save()
    return update


def describe_facts(facts: set[str]) -> list[Any]:
    return [UpdateFact(fact).label for fact in sorted(facts)]
