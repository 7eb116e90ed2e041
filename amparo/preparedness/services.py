"""Plan decisions: opening a plan, its reference, the PIN, trusted people, reviews.

Codes that can activate a plan (the family's PIN, each trusted person's code) are
stored as Argon2 hashes. Wrong ones are counted per plan, never per address: after
CODE_FAILURE_LIMIT wrong codes the plan refuses every code for CODE_COOL_OFF.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from amparo.audit.services import record
from amparo.preparedness.models import (
    DocumentItem,
    DocumentKind,
    FamilyAccount,
    Plan,
    TrustedPerson,
)

REFERENCE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
REFERENCE_LENGTH = 8
CODE_DIGITS = 9
CODE_FAILURE_LIMIT = 5
CODE_COOL_OFF = timedelta(minutes=15)
REVIEW_EVERY = timedelta(days=182)
PIN_MIN_DIGITS = 4


@cache
def _hash_of_nothing(hasher: str) -> str:
    # Checked when a reference is unknown, so the answer takes as long as for a real plan.
    return make_password("no plan has this code")


def _no_code_hash() -> str:
    return _hash_of_nothing(settings.PASSWORD_HASHERS[0])


class CodeRefused(Exception):
    """A PIN or activation code was not accepted; the message says what to do."""

    def __init__(self, message: str, *, locked: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.locked = locked


def plan_target(plan: Plan) -> str:
    return f"plan:{plan.pk}"


def normalize_reference(written: str) -> str:
    return "".join(ch for ch in written.upper() if ch.isalnum())


def format_reference(reference: str) -> str:
    return f"{reference[:4]}-{reference[4:]}"


def _new_reference() -> str:
    while True:
        reference = "".join(
            secrets.choice(REFERENCE_ALPHABET) for _position in range(REFERENCE_LENGTH)
        )
        if not Plan.objects.filter(reference=reference).exists():
            return reference


@transaction.atomic
def open_plan(account: FamilyAccount) -> Plan:
    """The account's plan, with an empty documents checklist; made once."""
    plan, created = Plan.objects.get_or_create(
        account=account, defaults={"reference": _new_reference()}
    )
    if created:
        DocumentItem.objects.bulk_create(
            DocumentItem(plan=plan, kind=kind) for kind in DocumentKind.values
        )
    return plan


def plan_by_reference(written: str) -> Plan | None:
    reference = normalize_reference(written)
    if len(reference) != REFERENCE_LENGTH:
        return None
    return Plan.objects.filter(reference=reference, account__is_active=True).first()


def mark_reviewed(plan: Plan) -> None:
    plan.last_reviewed_at = timezone.now()
    plan.save(update_fields=["last_reviewed_at"])
    record(None, "family.plan_reviewed", target=plan_target(plan))


def review_due_at(plan: Plan) -> datetime:
    return (plan.last_reviewed_at or plan.created_at) + REVIEW_EVERY


def review_is_due(plan: Plan, at: datetime | None = None) -> bool:
    return (at or timezone.now()) >= review_due_at(plan)


# --- the family's PIN and trusted people's codes ---------------------------------------


def set_pin(plan: Plan, pin: str) -> None:
    pin = pin.strip()
    if len(pin) < PIN_MIN_DIGITS or not pin.isdigit():
        raise CodeRefused(_("A PIN is at least %(count)d digits.") % {"count": PIN_MIN_DIGITS})
    plan.pin_hash = make_password(pin)
    plan.save(update_fields=["pin_hash"])
    record(None, "family.pin_set", target=plan_target(plan))


def new_activation_code() -> str:
    digits = "".join(secrets.choice("0123456789") for _position in range(CODE_DIGITS))
    return f"{digits[:3]}-{digits[3:6]}-{digits[6:]}"


def normalize_code(written: str) -> str:
    return "".join(ch for ch in written if ch.isdigit())


@dataclass(frozen=True)
class NamedTrustedPerson:
    """A trusted person and their code; the code exists only here, never in the database."""

    person: TrustedPerson
    code: str


def add_trusted_person(plan: Plan, name: str) -> NamedTrustedPerson:
    code = new_activation_code()
    person = TrustedPerson.objects.create(
        plan=plan, name=name.strip(), code_hash=make_password(normalize_code(code))
    )
    record(None, "family.trusted_person_added", target=plan_target(plan))
    return NamedTrustedPerson(person, code)


def revoke_trusted_person(plan: Plan, person_id: int) -> bool:
    revoked = TrustedPerson.objects.filter(plan=plan, pk=person_id, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    if revoked:
        record(None, "family.trusted_person_revoked", target=plan_target(plan))
    return revoked == 1


def code_locked_until(plan: Plan) -> datetime | None:
    plan.refresh_from_db(fields=["code_locked_until"])
    if plan.code_locked_until and plan.code_locked_until > timezone.now():
        return plan.code_locked_until
    return None


def _locked_refusal(until: datetime) -> CodeRefused:
    minutes = max(1, int((until - timezone.now()).total_seconds() + 59) // 60)
    return CodeRefused(
        _("Too many wrong codes for this plan. Wait %(minutes)d minutes, or call the hotline.")
        % {"minutes": minutes},
        locked=True,
    )


def _count_wrong_code(plan: Plan) -> None:
    now = timezone.now()
    with transaction.atomic():
        row = Plan.objects.select_for_update().get(pk=plan.pk)
        if row.code_failures_since is None or now - row.code_failures_since >= CODE_COOL_OFF:
            row.code_failures = 0
            row.code_failures_since = now
        row.code_failures += 1
        if row.code_failures >= CODE_FAILURE_LIMIT:
            row.code_locked_until = now + CODE_COOL_OFF
            row.code_failures = 0
            row.code_failures_since = None
        row.save(update_fields=["code_failures", "code_failures_since", "code_locked_until"])
    record(None, "family.code_refused", target=plan_target(plan), allowed=False)
    if row.code_locked_until and row.code_locked_until > now:
        record(None, "family.codes_locked", target=plan_target(plan), allowed=False)
        raise _locked_refusal(row.code_locked_until)


def _clear_wrong_codes(plan: Plan) -> None:
    Plan.objects.filter(pk=plan.pk).update(code_failures=0, code_failures_since=None)


def check_pin(plan: Plan, pin: str) -> None:
    """Accept the family's PIN or raise CodeRefused; wrong PINs count toward the lock."""
    until = code_locked_until(plan)
    if until is not None:
        raise _locked_refusal(until)
    if not plan.pin_hash or not check_password(pin.strip(), plan.pin_hash):
        _count_wrong_code(plan)
        raise CodeRefused(_("That PIN is not right."))
    _clear_wrong_codes(plan)


def check_activation_code(reference: str, code: str) -> TrustedPerson:
    """The trusted person whose code this is, or CodeRefused (same words for every mistake)."""
    wrong = CodeRefused(_("That reference and code do not match a plan. Check both and try again."))
    plan = plan_by_reference(reference)
    digits = normalize_code(code)
    if plan is None:
        check_password(digits, _no_code_hash())
        raise wrong
    until = code_locked_until(plan)
    if until is not None:
        record(
            None, "family.code_refused", target=plan_target(plan), allowed=False, detail="locked"
        )
        raise _locked_refusal(until)
    people = TrustedPerson.objects.filter(plan=plan, revoked_at__isnull=True)
    for person in people:
        if len(digits) == CODE_DIGITS and check_password(digits, person.code_hash):
            _clear_wrong_codes(plan)
            return person
    if not people:
        check_password(digits, _no_code_hash())
    _count_wrong_code(plan)
    raise wrong
