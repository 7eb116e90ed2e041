"""The attorney directory: ranked suggestions for a case, and CSV import and export."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Count, Q
from django.utils.translation import gettext_lazy as _

from amparo.accounts.models import User
from amparo.accounts.roles import Role
from amparo.directory.models import AttorneyProfile

CSV_COLUMNS = [
    "username",
    "name",
    "organization",
    "languages",
    "counties",
    "courts",
    "facilities",
    "specialties",
    "capacity",
    "accepting",
    "phone",
]
LIST_COLUMNS = {"languages", "counties", "courts", "facilities", "specialties"}
# Spreadsheet programs run a cell that starts with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# What each kind of match weighs when ranking; language first, since without it nothing works.
WEIGHTS = {"language": 8, "facility": 4, "court": 3, "county": 2, "specialty": 2}


@dataclass(frozen=True)
class CaseNeeds:
    """What a case needs from an attorney; plain values so the directory knows no cases."""

    languages: tuple[str, ...] = ()
    facility: str = ""
    court: str = ""
    county: str = ""
    specialty: str = ""


# What a suggestion matched, as its reasons say it and as a person reads it.
REASON_NAMES = {
    "language": _("language"),
    "facility": _("detention facility"),
    "court": _("court"),
    "county": _("county"),
    "specialty": _("specialty"),
}


@dataclass
class Suggestion:
    profile: AttorneyProfile
    open_cases: int
    score: int = 0
    reasons: list[str] = field(default_factory=list)

    def reason_names(self) -> list[str]:
        return [str(REASON_NAMES.get(reason, reason)) for reason in self.reasons]

    @property
    def free_places(self) -> int:
        return max(self.profile.capacity - self.open_cases, 0)


def _folded(items: Iterable[str]) -> set[str]:
    return {item.strip().casefold() for item in items if item.strip()}


def open_case_counts() -> dict[int, int]:
    """How many open cases each attorney holds now."""
    from amparo.hotline.models import OPEN_STATUSES, Case

    rows = (
        Case.objects.filter(merged_into=None, status__in=OPEN_STATUSES)
        .exclude(assigned_attorney=None)
        .values("assigned_attorney")
        .annotate(total=Count("id"))
    )
    return {row["assigned_attorney"]: row["total"] for row in rows}


def rank_attorneys(needs: CaseNeeds, exclude: Iterable[int] = ()) -> list[Suggestion]:
    """Attorneys accepting cases with free capacity, best match first.

    A candidate must share a language with the case when the case names one. Ties go to
    the attorney with more free places, then to the older profile.
    """
    counts = open_case_counts()
    wanted_languages = _folded(needs.languages)
    profiles = (
        AttorneyProfile.objects.filter(
            accepting=True, attorney__role=Role.ATTORNEY, attorney__is_active=True
        )
        .exclude(attorney_id__in=list(exclude))
        .select_related("attorney", "attorney__organization")
    )
    suggestions: list[Suggestion] = []
    for profile in profiles:
        suggestion = Suggestion(profile=profile, open_cases=counts.get(profile.attorney_id, 0))
        if suggestion.free_places <= 0:
            continue
        shared = wanted_languages & _folded(profile.language_list())
        if wanted_languages and not shared:
            continue
        if shared:
            suggestion.score += WEIGHTS["language"]
            suggestion.reasons.append("language")
        checks = {
            "facility": (needs.facility, profile.facility_list()),
            "court": (needs.court, profile.court_list()),
            "county": (needs.county, profile.county_list()),
            "specialty": (needs.specialty, profile.specialty_list()),
        }
        for name, (wanted, offered) in checks.items():
            if wanted.strip() and wanted.strip().casefold() in _folded(offered):
                suggestion.score += WEIGHTS[name]
                suggestion.reasons.append(name)
        suggestions.append(suggestion)
    suggestions.sort(key=lambda s: (-s.score, -s.free_places, s.profile.pk))
    return suggestions


def profile_for(attorney: User) -> AttorneyProfile:
    profile, _created = AttorneyProfile.objects.get_or_create(attorney=attorney)
    return profile


def defuse_cell(value: str) -> str:
    """Make a cell inert in spreadsheet programs: a leading formula character gets a quote."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _restore_cell(value: str) -> str:
    # Undo defuse_cell for a round trip; a real value never starts with "'=" and the like.
    if value.startswith("'") and value[1:].startswith(FORMULA_STARTS):
        return value[1:]
    return value


def export_csv(profiles: Iterable[AttorneyProfile] | None = None) -> str:
    chosen = (
        profiles
        if profiles is not None
        else AttorneyProfile.objects.select_related("attorney", "attorney__organization")
    )
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for profile in chosen:
        user = profile.attorney
        row = {
            "username": user.username,
            "name": user.name_for_display,
            "organization": user.organization.name if user.organization else "",
            "languages": "; ".join(profile.language_list()),
            "counties": "; ".join(profile.county_list()),
            "courts": "; ".join(profile.court_list()),
            "facilities": "; ".join(profile.facility_list()),
            "specialties": "; ".join(profile.specialty_list()),
            "capacity": str(profile.capacity),
            "accepting": "yes" if profile.accepting else "no",
            "phone": profile.phone,
        }
        writer.writerow([defuse_cell(row[column]) for column in CSV_COLUMNS])
    return out.getvalue()


@dataclass
class ImportReport:
    updated: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


@transaction.atomic
def import_csv(text: str) -> ImportReport:
    """Update the profiles of existing attorney accounts, matched by username.

    Accounts are never created here: they come from invitations. Rows that name an unknown
    account or a non-attorney are reported and skipped.
    """
    report = ImportReport()
    reader = csv.DictReader(io.StringIO(text))
    missing = {"username"} - set(reader.fieldnames or [])
    if missing:
        report.problems.append("the header row has no 'username' column")
        return report
    for line, row in enumerate(reader, start=2):
        username = _restore_cell((row.get("username") or "").strip()).strip()
        user = User.objects.filter(username=username).first()
        if user is None:
            report.problems.append(f"row {line}: no account named '{username}'")
            continue
        if user.role != Role.ATTORNEY:
            report.problems.append(f"row {line}: '{username}' is not an attorney")
            continue
        profile = profile_for(user)
        for column in LIST_COLUMNS & set(row):
            items = [_restore_cell(i.strip()).strip() for i in (row[column] or "").split(";")]
            setattr(profile, column, "\n".join(i for i in items if i))
        if (row.get("capacity") or "").strip():
            try:
                profile.capacity = max(int(row["capacity"].strip()), 0)
            except ValueError:
                report.problems.append(f"row {line}: capacity '{row['capacity']}' is not a number")
                continue
        if (row.get("accepting") or "").strip():
            profile.accepting = row["accepting"].strip().casefold() in {"yes", "true", "1", "sí"}
        if "phone" in row:
            profile.phone = _restore_cell((row["phone"] or "").strip()).strip()[:40]
        profile.save()
        report.updated.append(username)
    return report


def attorneys_without_profiles() -> list[User]:
    return list(
        User.objects.filter(role=Role.ATTORNEY, is_active=True)
        .filter(Q(directory_profile__isnull=True))
        .order_by("username")
    )
