"""Hotline decisions: intake, duplicates, merging, the timeline, custody searches, deadlines."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any

from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from amparo.accounts.models import User
from amparo.hotline.a_numbers import normalise_a_number
from amparo.hotline.models import (
    Case,
    CaseDocument,
    CaseStatus,
    CustodySearch,
    Deadline,
    DeadlineKind,
    DuplicateFlag,
    DuplicateReason,
    FamilyUpdate,
    Hearing,
    HearingKind,
    Intake,
    IntakeChannel,
    Note,
    Offer,
    OfferState,
    SearchResult,
    StatusEvent,
)
from amparo.hotline.sealed_fields import blind_index, seal
from amparo.rows import Row, insert, insert_rows

# An appeal of a bond decision must be *received* within 30 calendar days of the decision.
BOND_APPEAL_DAYS = 30
# Names this close (after normalising) with the same birth date and country are flagged.
NAME_DISTANCE_LIMIT = 2


@dataclass
class IntakeAnswers:
    """Everything an intake asks, whether from the public form or a call."""

    caller_name: str
    caller_language: str
    legal_name: str
    caller_relationship: str = ""
    caller_phone: str = ""
    caller_email: str = ""
    safe_to_call: bool = True
    safe_to_leave_message: bool = False
    interpreter_needed: bool = False
    interpreter_dialect: str = ""
    update_channel: str = ""
    other_names: str = ""
    date_of_birth: date | None = None
    country_of_birth: str = ""
    a_number: str = ""
    best_language: str = ""
    encounter_place: str = ""
    encounter_place_detail: str = ""
    encounter_when: str = ""
    encounter_agency: str = ""
    encounter_papers: str = ""
    children: str = ""
    children_with: str = ""
    medical_needs: str = ""
    medication: str = ""
    existing_attorney: str = ""
    needs_legal: bool = True
    needs_money: bool = False
    needs_childcare: bool = False
    needs_mental_health: bool = False
    needs_consulate: bool = False
    needs_other: str = ""
    consent_share_with_attorneys: bool = False
    consent_updates_status: bool = False
    consent_updates_location: bool = False
    consent_updates_hearings: bool = False
    consent_updates_attorney: bool = False
    consent_share_with_consulate: bool = False
    county: str = ""

    @classmethod
    def from_cleaned(cls, cleaned: dict[str, Any]) -> IntakeAnswers:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in cleaned.items() if k in known and v is not None}
        if "date_of_birth" in cleaned:
            values["date_of_birth"] = cleaned["date_of_birth"]
        return cls(**values)


@dataclass(frozen=True)
class IntakeOutcome:
    case: Case
    intake: Intake
    duplicates: list[DuplicateFlag]


def normalise_name(name: str) -> str:
    """Lower case, accents and punctuation dropped, spaces collapsed: "José  Pérez-Gómez"."""
    decomposed = unicodedata.normalize("NFKD", name)
    without_marks = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    letters = re.sub(r"[^\w\s]|_", " ", without_marks.casefold())
    return " ".join(letters.split())


def within_distance(first: str, second: str, limit: int) -> bool:
    """Whether the Levenshtein distance is at most `limit`, computing only the cells within
    `limit` of the diagonal and stopping as soon as a whole row is over the limit: a name
    is compared with every case of the same birth date and country, and placeholder dates
    such as 1 January are shared by many cases."""
    if abs(len(first) - len(second)) > limit:
        return False  # the distance is at least the difference in length
    if len(first) < len(second):
        first, second = second, first
    over = limit + 1
    previous = [j if j <= limit else over for j in range(len(second) + 1)]
    for i, a in enumerate(first, start=1):
        low, high = max(1, i - limit), min(len(second), i + limit)
        current = [over] * (len(second) + 1)
        current[0] = i if i <= limit else over
        for j in range(low, high + 1):
            cost = previous[j - 1] + (a != second[j - 1])
            current[j] = min(previous[j] + 1, current[j - 1] + 1, cost, over)
        if min(current[max(0, low - 1) : high + 1]) > limit:
            return False
        previous = current
    return previous[-1] <= limit


def names_are_close(first: str, second: str) -> bool:
    a, b = normalise_name(first), normalise_name(second)
    if not a or not b:
        return False
    if within_distance(a, b, NAME_DISTANCE_LIMIT):
        return True
    # Same words in another order ("Pérez García Juan") count as close too.
    return within_distance(
        " ".join(sorted(a.split())), " ".join(sorted(b.split())), NAME_DISTANCE_LIMIT
    )


def a_number_index(written: str) -> str:
    """The blind index of an A-number as written; raises ValidationError if it is not one."""
    return blind_index("a_number", normalise_a_number(written))


def date_of_birth_index(born: date) -> str:
    return blind_index("date_of_birth", born.isoformat())


def find_cases_by_a_number(written: str) -> QuerySet[Case]:
    """Exact-match search, only through the blind index."""
    return Case.objects.filter(a_number_index=a_number_index(written), merged_into=None)


# The columns the duplicate comparison reads; the others load on access if ever needed.
_COMPARED_FIELDS = (
    "id",
    "merged_into",
    "a_number_index",
    "date_of_birth_index",
    "country_of_birth",
    "legal_name",
    "other_names",
)


@cache
def _compared_fields() -> tuple[Any, ...]:
    return tuple(f for f in Case._meta.concrete_fields if f.name in _COMPARED_FIELDS)


def _duplicate_candidates(cases: Sequence[Case]) -> list[Case]:
    """Every case sharing a blind index with one of `cases` (themselves included), in one
    query through the two indexes. Plain SQL: it runs on every intake, and building it with
    the ORM cost more than running it."""
    by_a_number = sorted({c.a_number_index for c in cases if c.a_number_index})
    by_birth = sorted(
        {c.date_of_birth_index for c in cases if c.date_of_birth_index and c.country_of_birth}
    )
    if not by_a_number and not by_birth:
        return []
    quote = connection.ops.quote_name
    table = quote(Case._meta.db_table)
    compared = _compared_fields()
    conditions = [
        f"{table}.{quote(column)} IN ({', '.join(['%s'] * len(values))})"
        for column, values in (("a_number_index", by_a_number), ("date_of_birth_index", by_birth))
        if values
    ]
    sql = (
        f"SELECT {', '.join(f'{table}.{quote(f.column)}' for f in compared)} FROM {table} "  # noqa: S608
        f"WHERE {' OR '.join(conditions)} ORDER BY {table}.{quote('id')}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*by_a_number, *by_birth])
        rows = cursor.fetchall()
    names = [f.attname for f in compared]
    return [Case.from_db(connection.alias, names, row) for row in rows]


def _duplicates_among(case: Case, others: Iterable[Case]) -> list[tuple[Case, str]]:
    """Which of `others` this case may duplicate: the same A-number, or a close name with the
    same birth date and country. Merged cases are skipped (here, not in SQL: "merged_into IS
    NULL" matches nearly every row, and SQLite would then walk that index, the whole table,
    instead of the two blind indexes)."""
    same_birth = bool(case.date_of_birth_index and case.country_of_birth)
    country = normalise_name(case.country_of_birth)
    names = [case.legal_name, *case.other_names.splitlines()]
    found: dict[int, tuple[Case, str]] = {}
    for other in others:
        if other.pk == case.pk or other.merged_into_id is not None:
            continue
        if case.a_number_index and other.a_number_index == case.a_number_index:
            found[other.pk] = (other, DuplicateReason.A_NUMBER)
            continue
        if not same_birth or other.date_of_birth_index != case.date_of_birth_index:
            continue
        if normalise_name(other.country_of_birth) != country:
            continue
        other_names = [other.legal_name, *other.other_names.splitlines()]
        if any(names_are_close(a, b) for a in names if a.strip() for b in other_names):
            found[other.pk] = (other, DuplicateReason.NAME_BIRTH)
    return list(found.values())


def find_possible_duplicates(case: Case) -> list[tuple[Case, str]]:
    """Open cases this one may duplicate: the same A-number, or a close name with the same
    birth date and country. One query, through the two blind indexes."""
    return _duplicates_among(case, _duplicate_candidates([case]))


def _intake_fields(answers: IntakeAnswers) -> dict[str, Any]:
    person = {
        "legal_name",
        "other_names",
        "date_of_birth",
        "country_of_birth",
        "a_number",
        "best_language",
        "county",
    }
    return {f.name: getattr(answers, f.name) for f in fields(answers) if f.name not in person}


def unsaved_case(answers: IntakeAnswers, now: datetime) -> Case:
    """The case as it will be stored, sealed and indexed, before any database work."""
    digits = normalise_a_number(answers.a_number) if answers.a_number.strip() else ""
    return Case(
        created_at=now,
        legal_name=answers.legal_name.strip(),
        other_names=answers.other_names.strip(),
        name_key=normalise_name(answers.legal_name),
        date_of_birth_sealed=(
            seal("date_of_birth", answers.date_of_birth.isoformat())
            if answers.date_of_birth
            else ""
        ),
        date_of_birth_index=(
            date_of_birth_index(answers.date_of_birth) if answers.date_of_birth else ""
        ),
        country_of_birth=answers.country_of_birth.strip(),
        a_number_sealed=seal("a_number", digits),
        a_number_index=blind_index("a_number", digits),
        best_language=answers.best_language.strip(),
        county=answers.county.strip(),
    )


@dataclass(frozen=True)
class PreparedIntake:
    """An intake's rows (case, intake, first status), sealed, indexed and converted for the
    database before any transaction begins; `store_intakes` only sends them."""

    answers: IntakeAnswers
    received_at: datetime
    case: Row
    intake: Row
    status: Row


def prepare_intake(
    answers: IntakeAnswers,
    channel: IntakeChannel,
    taken_by: User | None = None,
    now: datetime | None = None,
) -> PreparedIntake:
    now = now or timezone.now()
    case = unsaved_case(answers, now)
    intake = Intake(
        case=case, received_at=now, channel=channel, taken_by=taken_by, **_intake_fields(answers)
    )
    status = StatusEvent(case=case, status=CaseStatus.REPORTED, at=now, by=taken_by)
    return PreparedIntake(answers, now, Row(case), Row(intake), Row(status))


def store_intakes(prepared: Sequence[PreparedIntake]) -> list[IntakeOutcome]:
    """Insert the prepared cases, their intakes and first statuses, and flag duplicates; the
    caller holds the transaction. Each kind of row goes in with one statement, so a group of
    intakes costs little more than one.

    Each case is compared with the cases stored before it, as if they had come one by one:
    a later case of the group flags an earlier one, never the other way round.
    """
    if not prepared:
        return []
    insert_rows([p.case for p in prepared])
    for p in prepared:
        p.intake.refer("case", p.case.obj)
        p.status.refer("case", p.case.obj)
    insert_rows([p.intake for p in prepared])
    insert_rows([p.status for p in prepared])
    cases: list[Case] = [p.case.obj for p in prepared]  # type: ignore[misc]
    candidates = _duplicate_candidates(cases)
    later: set[int] = {case.pk for case in cases}
    outcomes: list[IntakeOutcome] = []
    for p, case in zip(prepared, cases, strict=True):
        later.discard(case.pk)
        earlier = (other for other in candidates if other.pk not in later)
        flags = [
            DuplicateFlag(case=case, other=other, reason=reason, flagged_at=p.received_at)
            for other, reason in _duplicates_among(case, earlier)
        ]
        outcomes.append(IntakeOutcome(case=case, intake=p.intake.obj, duplicates=flags))  # type: ignore[arg-type]
    insert(*(flag for outcome in outcomes for flag in outcome.duplicates))
    return outcomes


def forget_keys(prepared: PreparedIntake) -> None:
    """After a rolled-back INSERT: the keys it handed out are void; the rows can be sent again."""
    for row in (prepared.case, prepared.intake, prepared.status):
        if row.obj._meta.auto_field is not None and not row.with_pk:
            row.obj.pk = None
        row.obj._state.adding = True


@transaction.atomic
def record_intake(
    answers: IntakeAnswers, channel: IntakeChannel, taken_by: User | None = None
) -> IntakeOutcome:
    """Open a case from an intake and flag any case it may duplicate."""
    (outcome,) = store_intakes([prepare_intake(answers, channel, taken_by)])
    return outcome


def open_duplicate_flags(case: Case) -> QuerySet[DuplicateFlag]:
    """The unresolved flags that name this case, on either side: a flag is raised on the newer
    report, and the older case is told about it too."""
    return DuplicateFlag.objects.filter(
        Q(case=case) | Q(other=case), resolved_at=None
    ).select_related("case", "other")


def other_side(flag: DuplicateFlag, case: Case) -> Case:
    """The case a flag says this one may be."""
    return flag.other if flag.case_id == case.pk else flag.case


@transaction.atomic
def merge_cases(keep: Case, absorb: Case, by: User) -> Case:
    """Fold `absorb` into `keep`: every intake, step, search, hearing, note and document moves
    over with its own time and author; `absorb` stays as a pointer to `keep`."""
    if keep.pk == absorb.pk:
        raise ValueError(_("A case cannot be merged into itself."))
    if keep.merged_into_id or absorb.merged_into_id:
        raise ValueError(_("One of these cases has already been merged."))
    now = timezone.now()
    Offer.objects.filter(case=absorb, state=OfferState.PENDING).update(
        state=OfferState.WITHDRAWN, answered_at=now
    )
    # Steps keep the case they were first recorded on, so the timeline can say so.
    StatusEvent.objects.filter(case=absorb, from_case=None).update(case=keep, from_case=absorb)
    for model in (
        Intake,
        StatusEvent,
        CustodySearch,
        Hearing,
        Deadline,
        Note,
        Offer,
        FamilyUpdate,
        CaseDocument,
    ):
        model.objects.filter(case=absorb).update(case=keep)
    for attribute in ("a_number_sealed", "date_of_birth_sealed"):
        if not getattr(keep, attribute) and getattr(absorb, attribute):
            setattr(keep, attribute, getattr(absorb, attribute))
    for attribute in (
        "a_number_index",
        "date_of_birth_index",
        "country_of_birth",
        "best_language",
        "facility_name",
        "facility_address",
        "facility_phone",
        "county",
        "court",
    ):
        if not getattr(keep, attribute):
            setattr(keep, attribute, getattr(absorb, attribute))
    if keep.assigned_attorney_id is None:
        keep.assigned_attorney_id = absorb.assigned_attorney_id
    spellings = [keep.other_names, absorb.legal_name, absorb.other_names]
    keep.other_names = "\n".join(
        dict.fromkeys(line.strip() for s in spellings for line in s.splitlines() if line.strip())
    )
    keep.save()
    absorb.merged_into = keep
    absorb.save(update_fields=["merged_into"])
    DuplicateFlag.objects.filter(case__in=[keep, absorb], other__in=[keep, absorb]).update(
        resolved_at=now, resolved_by=by, resolution="merged"
    )
    _fold_duplicate_flags(keep, absorb, by, now)
    StatusEvent.objects.create(case=keep, status=keep.status, at=now, by=by, merged_case=absorb)
    return keep


def _fold_duplicate_flags(keep: Case, absorb: Case, by: User, now: datetime) -> None:
    """What the absorbed case was flagged with, on either side, is now said of the survivor;
    a flag that would repeat one the survivor already has (either way round) is resolved as
    merged instead."""
    open_flags = DuplicateFlag.objects.filter(resolved_at=None)
    seen = {
        frozenset(pair)
        for pair in open_flags.filter(Q(case=keep) | Q(other=keep)).values_list(
            "case_id", "other_id"
        )
    }
    for flag in open_flags.filter(Q(case=absorb) | Q(other=absorb)).order_by("flagged_at", "id"):
        case_id = keep.pk if flag.case_id == absorb.pk else flag.case_id
        other_id = keep.pk if flag.other_id == absorb.pk else flag.other_id
        pair = frozenset((case_id, other_id))
        if case_id == other_id or pair in seen:
            flag.resolved_at, flag.resolved_by, flag.resolution = now, by, "merged"
            flag.save(update_fields=["resolved_at", "resolved_by", "resolution"])
        else:
            flag.case_id, flag.other_id = case_id, other_id
            flag.save(update_fields=["case", "other"])
            seen.add(pair)


def dismiss_duplicate_flag(flag: DuplicateFlag, by: User) -> None:
    flag.resolved_at = timezone.now()
    flag.resolved_by = by
    flag.resolution = "not_duplicate"
    flag.save(update_fields=["resolved_at", "resolved_by", "resolution"])


def set_status(case: Case, status: CaseStatus, by: User | None, note: str = "") -> StatusEvent:
    case.status = status
    case.save(update_fields=["status"])
    return StatusEvent.objects.create(case=case, status=status, by=by, note=note[:300])


def timeline(case: Case) -> QuerySet[StatusEvent]:
    return case.status_events.select_related("by").order_by("at", "id")


@transaction.atomic
def log_custody_search(
    case: Case,
    by: User,
    *,
    where_looked: str,
    result: SearchResult | str,
    facility_name: str = "",
    facility_address: str = "",
    facility_phone: str = "",
    notes: str = "",
    searched_at: datetime | None = None,
) -> CustodySearch:
    """Record a look-up a person made; a "found" result sets where the case is held."""
    search = CustodySearch.objects.create(
        case=case,
        searched_by=by,
        searched_at=searched_at or timezone.now(),
        where_looked=where_looked,
        result=result,
        facility_name=facility_name.strip(),
        facility_address=facility_address.strip(),
        facility_phone=facility_phone.strip(),
        notes=notes,
    )
    if result == SearchResult.FOUND and facility_name.strip():
        case.facility_name = search.facility_name
        case.facility_address = search.facility_address
        case.facility_phone = search.facility_phone
        case.save(update_fields=["facility_name", "facility_address", "facility_phone"])
        if case.status == CaseStatus.REPORTED:
            set_status(case, CaseStatus.LOCATED, by, note=search.facility_name)
    return search


def bond_appeal_due(decision_date: date) -> date:
    """The day by which a bond appeal must be received: 30 calendar days after the decision."""
    return decision_date + timedelta(days=BOND_APPEAL_DAYS)


@transaction.atomic
def record_hearing(
    case: Case,
    by: User,
    *,
    kind: HearingKind | str,
    court: str = "",
    judge: str = "",
    scheduled_for: datetime | None = None,
    decision_date: date | None = None,
    bond_outcome: str = "",
    bond_amount: int | None = None,
) -> Hearing:
    """Record a hearing; a bond decision also opens its appeal deadline."""
    hearing = Hearing.objects.create(
        case=case,
        kind=kind,
        court=court.strip(),
        judge=judge.strip(),
        scheduled_for=scheduled_for,
        decision_date=decision_date,
        bond_outcome=bond_outcome,
        bond_amount=bond_amount,
        recorded_by=by,
    )
    if court.strip() and not case.court:
        case.court = court.strip()
        case.save(update_fields=["court"])
    if kind == HearingKind.BOND and case.status in {
        CaseStatus.REPORTED,
        CaseStatus.LOCATED,
        CaseStatus.REFERRED,
        CaseStatus.REPRESENTED,
    }:
        set_status(case, CaseStatus.BOND_HEARING, by)
    if kind == HearingKind.BOND and decision_date is not None:
        Deadline.objects.create(
            case=case,
            kind=DeadlineKind.BOND_APPEAL,
            due_on=bond_appeal_due(decision_date),
            hearing=hearing,  # the page names the outcome from it, in the reader's language
        )
    return hearing


@dataclass(frozen=True)
class DeadlineRow:
    deadline: Deadline
    days_left: int

    @property
    def overdue(self) -> bool:
        return self.days_left < 0

    @property
    def days_late(self) -> int:
        return max(-self.days_left, 0)


def upcoming_deadlines(
    today: date | None = None, cases: QuerySet[Case] | None = None
) -> list[DeadlineRow]:
    """Open deadlines, soonest first; overdue ones first of all."""
    today = today or timezone.localdate()
    found = Deadline.objects.filter(done_at=None, case__merged_into=None).select_related(
        "case", "hearing"
    )
    if cases is not None:
        found = found.filter(case__in=cases)
    return [
        DeadlineRow(deadline=d, days_left=(d.due_on - today).days)
        for d in found.order_by("due_on", "id")
    ]


def mark_deadline_done(deadline: Deadline) -> None:
    deadline.done_at = timezone.now()
    deadline.save(update_fields=["done_at"])


def add_note(case: Case, author: User, body: str) -> Note:
    return Note.objects.create(case=case, author=author, body=body.strip())
