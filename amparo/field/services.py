"""Deployments: requests, decisions, rosters, legal teams, check-ins, and who may see what."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from amparo.accounts.models import User
from amparo.accounts.roles import Role
from amparo.field.models import (
    Assignment,
    Attendance,
    AttendanceKind,
    Deployment,
    DeploymentStatus,
    ObserverProfile,
    Report,
)
from amparo.web.policy import Refusal


def _training_check() -> Callable[..., bool] | None:
    try:
        module = importlib.import_module("amparo.training.services")
    except ImportError:
        return None
    check = getattr(module, "is_certified", None)
    return check if callable(check) else None


def is_eligible_observer(user: User, at: datetime | None = None) -> bool:
    """An active observer certified by training, or marked certified by a coordinator."""
    if not user.is_active or user.role != Role.OBSERVER:
        return False
    if ObserverProfile.objects.filter(user=user, certified=True).exists():
        return True
    check = _training_check()
    return bool(check and check(user, at))


def eligible_observers(at: datetime | None = None) -> list[User]:
    observers = User.objects.filter(role=Role.OBSERVER, is_active=True).order_by("username")
    return [user for user in observers if is_eligible_observer(user, at)]


def set_coordinator_certified(observer: User, certified: bool, by: User) -> ObserverProfile:
    profile, _created = ObserverProfile.objects.get_or_create(user=observer)
    profile.certified = certified
    profile.certified_set_by = by
    profile.certified_set_at = timezone.now()
    profile.save()
    return profile


@dataclass(frozen=True)
class DeploymentRequest:
    """What an organizer tells us; nothing about the requester's connection is kept."""

    event_name: str
    contact_name: str
    contact_how: str
    organization: str
    starts_at: datetime
    ends_at: datetime | None
    place: str
    expected_size: int | None
    expectations: str


def request_deployment(request: DeploymentRequest) -> Deployment:
    return Deployment.objects.create(
        event_name=request.event_name.strip(),
        contact_name=request.contact_name.strip(),
        contact_how=request.contact_how.strip(),
        organization=request.organization.strip(),
        starts_at=request.starts_at,
        ends_at=request.ends_at,
        place=request.place.strip(),
        expected_size=request.expected_size,
        expectations=request.expectations.strip(),
    )


def decide(deployment: Deployment, approve: bool, by: User, note: str = "") -> Deployment:
    if by.role != Role.COORDINATOR:
        raise Refusal(_("Only a coordinator decides on deployment requests."))
    deployment.status = DeploymentStatus.APPROVED if approve else DeploymentStatus.DECLINED
    deployment.decided_by = by
    deployment.decided_at = timezone.now()
    deployment.decision_note = note.strip()
    deployment.save()
    return deployment


class RosterError(ValueError):
    """A roster change that cannot be made; the message says why."""


def assign_observer(
    deployment: Deployment, observer: User, pair: int | None, post: str
) -> Assignment:
    if deployment.status != DeploymentStatus.APPROVED:
        raise RosterError(_("Approve the request before building its roster."))
    if not is_eligible_observer(observer):
        raise RosterError(
            _("%(name)s is not a currently certified observer.")
            % {"name": observer.display_name or observer.username}
        )
    assignment, _created = Assignment.objects.update_or_create(
        deployment=deployment, observer=observer, defaults={"pair": pair, "post": post.strip()}
    )
    return assignment


def remove_observer(deployment: Deployment, observer: User) -> None:
    Assignment.objects.filter(deployment=deployment, observer=observer).delete()


def set_legal_team(deployment: Deployment, attorneys: list[User]) -> None:
    for person in attorneys:
        if person.role != Role.ATTORNEY or not person.is_active:
            raise RosterError(_("Only active attorneys can be on an event's legal team."))
    deployment.legal_team.set(attorneys)


def pair_partners(assignment: Assignment) -> list[User]:
    """The other observers in the same pair on the same deployment."""
    if assignment.pair is None:
        return []
    others = Assignment.objects.filter(
        deployment_id=assignment.deployment_id, pair=assignment.pair
    ).exclude(observer_id=assignment.observer_id)
    return [other.observer for other in others.select_related("observer")]


def record_attendance(
    assignment: Assignment,
    kind: AttendanceKind,
    all_handed_in: bool | None = None,
    note: str = "",
) -> Attendance:
    if kind == AttendanceKind.SIGN_OUT and all_handed_in is None:
        raise RosterError(_("Say whether all notes and media were handed in."))
    return Attendance.objects.create(
        assignment=assignment,
        kind=kind,
        all_handed_in=all_handed_in if kind == AttendanceKind.SIGN_OUT else None,
        note=note.strip(),
    )


# --- Who may see what ----------------------------------------------------------------------


def on_legal_team(user: User, deployment: Deployment | None) -> bool:
    if deployment is None or user.role != Role.ATTORNEY:
        return False
    return deployment.legal_team.filter(pk=user.pk).exists()


def can_see_request(user: User, deployment: Deployment) -> bool:
    """Requests are privileged: coordinators and the event's legal team only."""
    return user.role == Role.COORDINATOR or on_legal_team(user, deployment)


def visible_requests(user: User) -> QuerySet[Deployment]:
    if user.role == Role.COORDINATOR:
        return Deployment.objects.all()
    return Deployment.objects.filter(legal_team=user)


def can_read_report(user: User, report: Report) -> bool:
    """Narrative and attachments: the report's authors and the event's legal team only."""
    if report.authors.filter(pk=user.pk).exists():
        return True
    return on_legal_team(user, report.deployment)


def can_know_report_exists(user: User, report: Report) -> bool:
    if can_read_report(user, report):
        return True
    return user.role == Role.COORDINATOR


def reports_known_to(user: User) -> QuerySet[Report]:
    if user.role == Role.COORDINATOR:
        return Report.objects.all()
    return Report.objects.filter(Q(authors=user) | Q(deployment__legal_team=user)).distinct()


def require_report_reader(user: User, report: Report) -> None:
    if not can_read_report(user, report):
        raise Refusal(
            _(
                "This report is attorney work product: only its authors and the event's "
                "legal team may read it."
            )
        )


# --- Hotline link --------------------------------------------------------------------------


def hotline_intake_prefill(detention: Any) -> dict[str, Any]:
    """What a hotline intake for a detained person would start from, taken from the report."""
    report = detention.report
    when = detention.clock_time.strftime("%H:%M") if detention.clock_time else ""
    day = report.deployment.starts_at.date().isoformat() if report.deployment else ""
    agencies = ", ".join(str(code) for code in report.agency_types)
    return {
        "legal_name": detention.person_name,
        "caller_name": report.filed_by.display_name or report.filed_by.username,
        "caller_relationship": _("Legal observer"),
        "caller_language": report.filed_by.preferred_language or "en",
        "encounter_place": detention.place,
        "encounter_when": f"{day} {when}".strip(),
        "encounter_agency": agencies,
        "needs_legal": True,
    }


@transaction.atomic
def open_hotline_intake(detention: Any, by: User) -> int | None:
    """Open a hotline case for the detained person if the hotline offers a way; return its id."""
    if detention.hotline_case_id is not None:
        return int(detention.hotline_case_id)
    if not detention.person_name:
        raise RosterError(_("A hotline intake needs the person's name, given with their consent."))
    try:
        hotline = importlib.import_module("amparo.hotline.services")
        channels = importlib.import_module("amparo.hotline.models")
    except ImportError:
        return None
    answers_type = getattr(hotline, "IntakeAnswers", None)
    record_intake = getattr(hotline, "record_intake", None)
    if answers_type is None or record_intake is None:
        return None
    answers = answers_type(**hotline_intake_prefill(detention))
    outcome = record_intake(answers, channels.IntakeChannel.CALL, taken_by=by)
    detention.hotline_case_id = outcome.case.pk
    detention.save(update_fields=["hotline_case_id"])
    return int(outcome.case.pk)
