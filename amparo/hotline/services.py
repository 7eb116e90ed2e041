"""Hotline decisions: intake, duplicates, merging, the timeline, custody searches, deadlines."""

from __future__ import annotations

import fcntl
import os
import queue
import re
import threading
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from amparo.accounts.models import User
from amparo.audit.services import record
from amparo.hotline.a_numbers import normalise_a_number
from amparo.hotline.intake_throttle import BucketShape, Verdict, known_refusal, take_token
from amparo.hotline.models import (
    BondOutcome,
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


def edit_distance(first: str, second: str) -> int:
    """Levenshtein distance, row by row."""
    if len(first) < len(second):
        first, second = second, first
    previous = list(range(len(second) + 1))
    for i, a in enumerate(first, start=1):
        current = [i]
        for j, b in enumerate(second, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a != b)))
        previous = current
    return previous[-1]


def names_are_close(first: str, second: str) -> bool:
    a, b = normalise_name(first), normalise_name(second)
    if not a or not b or abs(len(a) - len(b)) > NAME_DISTANCE_LIMIT:
        return False  # the distance is at least the difference in length
    if edit_distance(a, b) <= NAME_DISTANCE_LIMIT:
        return True
    # Same words in another order ("Pérez García Juan") count as close too.
    return edit_distance(" ".join(sorted(a.split())), " ".join(sorted(b.split()))) <= (
        NAME_DISTANCE_LIMIT
    )


def a_number_index(written: str) -> str:
    """The blind index of an A-number as written; raises ValidationError if it is not one."""
    return blind_index("a_number", normalise_a_number(written))


def date_of_birth_index(born: date) -> str:
    return blind_index("date_of_birth", born.isoformat())


def find_cases_by_a_number(written: str) -> QuerySet[Case]:
    """Exact-match search, only through the blind index."""
    return Case.objects.filter(a_number_index=a_number_index(written), merged_into=None)


def find_possible_duplicates(case: Case) -> list[tuple[Case, str]]:
    """Open cases this one may duplicate: the same A-number, or a close name with the same
    birth date and country. One query, through the two blind indexes."""
    matches_a_number = Q(a_number_index=case.a_number_index) if case.a_number_index else Q()
    same_birth = bool(case.date_of_birth_index and case.country_of_birth)
    if same_birth:
        candidates = matches_a_number | Q(date_of_birth_index=case.date_of_birth_index)
    elif case.a_number_index:
        candidates = matches_a_number
    else:
        return []
    found: dict[int, tuple[Case, str]] = {}
    country = normalise_name(case.country_of_birth)
    names = [case.legal_name, *case.other_names.splitlines()]
    # Merged cases are skipped here, not in SQL: "merged_into IS NULL" matches nearly every
    # row, and SQLite would then walk that index (the whole table) instead of the two above.
    others = Case.objects.filter(candidates).exclude(pk=case.pk).order_by("pk")
    for other in others:
        if other.merged_into_id is not None:
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


def _unsaved_case(answers: IntakeAnswers, now: datetime) -> Case:
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
        a_number_last_digits=digits[-3:],
        best_language=answers.best_language.strip(),
        county=answers.county.strip(),
    )


def _store_intake(
    case: Case,
    answers: IntakeAnswers,
    channel: IntakeChannel,
    taken_by: User | None,
    now: datetime,
) -> IntakeOutcome:
    """Insert the case, its intake and first status, and flag duplicates; the caller holds
    the transaction."""
    case.save(force_insert=True)
    intake = Intake.objects.create(
        case=case, received_at=now, channel=channel, taken_by=taken_by, **_intake_fields(answers)
    )
    StatusEvent.objects.create(case=case, status=CaseStatus.REPORTED, at=now, by=taken_by)
    flags = [
        DuplicateFlag(case=case, other=other, reason=reason, flagged_at=now)
        for other, reason in find_possible_duplicates(case)
    ]
    if flags:
        DuplicateFlag.objects.bulk_create(flags)
    return IntakeOutcome(case=case, intake=intake, duplicates=flags)


@transaction.atomic
def record_intake(
    answers: IntakeAnswers, channel: IntakeChannel, taken_by: User | None = None
) -> IntakeOutcome:
    """Open a case from an intake and flag any case it may duplicate."""
    now = timezone.now()
    return _store_intake(_unsaved_case(answers, now), answers, channel, taken_by, now)


# One intake writer at a time per process, then per database file (see intake_writer_turn).
_writer_lock = threading.Lock()
_lock_files: dict[tuple[int, str], int] = {}


def _lock_file(path: str) -> int:
    # Keyed by process id: a descriptor inherited across fork shares its lock with the parent.
    key = (os.getpid(), path)
    if key not in _lock_files:
        _lock_files[key] = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    return _lock_files[key]


def _sqlite_file_outside_transaction() -> bool:
    name = str(connection.settings_dict["NAME"])
    return (
        connection.vendor == "sqlite"
        and not connection.in_atomic_block
        and name != ":memory:"
        and not name.startswith("file:")
    )


@contextmanager
def intake_writer_turn() -> Iterator[None]:
    """Queue intake writers on a kernel file lock beside the SQLite database.

    SQLite admits one writer and makes the others retry on a timer whose sleeps grow to
    100 ms, so under a burst much of the time goes in sleeping while the database is free.
    The file lock queues the writers of every server process and wakes the next as soon as
    one commits. Nothing changes on PostgreSQL, for an in-memory database, or when the
    caller already holds a transaction (the database lock would then be taken first, and
    two writers could wait on each other).
    """
    if not _sqlite_file_outside_transaction():
        yield
        return
    with _writer_lock:
        descriptor = _lock_file(str(connection.settings_dict["NAME"]) + ".intake-lock")
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(descriptor, fcntl.LOCK_UN)


@dataclass
class _Submission:
    """One public form submission waiting for the group that will commit it."""

    answers: IntakeAnswers | None
    case: Case | None
    received_at: datetime
    bucket: str
    shape: BucketShape
    done: threading.Event = field(default_factory=threading.Event)
    verdict: Verdict | None = None
    outcome: IntakeOutcome | None = None
    error: BaseException | None = None


def _admit(submission: _Submission) -> tuple[Verdict, IntakeOutcome | None]:
    """Token, then case, intake, status and audit event, in the caller's transaction."""
    verdict = take_token(submission.bucket, submission.shape)
    if not verdict.allowed or submission.answers is None or submission.case is None:
        return verdict, None
    outcome = _store_intake(
        submission.case,
        submission.answers,
        IntakeChannel.PUBLIC_FORM,
        None,
        submission.received_at,
    )
    record(None, "hotline.intake.public", target=f"case:{outcome.case.pk}")
    return verdict, outcome


class _GroupCommitter:
    """Commits this process's public intakes in groups: one transaction, so one fsync of the
    write-ahead log, for all the submissions that arrived while the previous group was being
    written. Nobody waits for a group to fill: a lone submission is a group of one.

    Each submission runs in a savepoint, so one that fails is rolled back alone (its token
    with it). A submission is answered only after its group's COMMIT returned; if the commit
    fails, every submission in the group gets the error and none is acknowledged.
    """

    largest_group = 64
    answer_within_seconds = 60.0

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[_Submission] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._started_in: int | None = None
        self._start_lock = threading.Lock()

    def submit(self, submission: _Submission) -> None:
        with self._start_lock:
            if self._started_in != os.getpid():  # the parent's writer did not fork with us
                self._queue = queue.SimpleQueue()
                self._writer = None
                self._started_in = os.getpid()
            if self._writer is None or not self._writer.is_alive():
                self._writer = threading.Thread(
                    target=self._run, args=(self._queue,), name="intake-writer", daemon=True
                )
                self._writer.start()
            self._queue.put(submission)
        if not submission.done.wait(self.answer_within_seconds):
            raise TimeoutError("the intake was not committed in time")
        if isinstance(submission.error, Exception):
            raise submission.error
        if submission.error is not None:
            raise RuntimeError("the intake writer stopped") from submission.error

    def _run(self, waiting: queue.SimpleQueue[_Submission]) -> None:
        while True:
            group = [waiting.get()]
            while len(group) < self.largest_group:
                try:
                    group.append(waiting.get_nowait())
                except queue.Empty:
                    break
            try:
                self._write(group)
            except BaseException as error:  # handed to every request of the group
                for submission in group:
                    submission.verdict, submission.outcome = None, None
                    submission.error = error
                connection.close()  # the next group starts on a fresh connection
                if not isinstance(error, Exception):
                    with self._start_lock:  # this writer ends; the next submission starts one
                        self._writer = None
                    raise
            finally:
                for submission in group:
                    submission.done.set()

    @staticmethod
    def _write(group: list[_Submission]) -> None:
        with intake_writer_turn(), transaction.atomic():
            for submission in group:
                try:
                    with transaction.atomic():
                        submission.verdict, submission.outcome = _admit(submission)
                except Exception as error:  # this submission alone fails
                    submission.error = error


_group_committer = _GroupCommitter()


def record_public_intake(
    answers: IntakeAnswers | None, bucket: str, shape: BucketShape
) -> tuple[Verdict, IntakeOutcome | None]:
    """A submission of the public form: take a token from the form's bucket and, if one was
    free and the answers are valid (None when the form was not), open the case.

    Token, case, intake, status and audit event commit together, and this returns only
    after the commit: an acknowledged intake is a stored one, a failure spends no token,
    and an invalid form spends one like any other submission so that a flood of junk is
    limited too. On a SQLite file the commit is shared with the other submissions of the
    moment (see _GroupCommitter); inside a caller's transaction it joins that one.
    """
    known = known_refusal(bucket, shape)
    if known is not None:
        return known, None
    now = timezone.now()
    submission = _Submission(
        answers=answers,
        case=_unsaved_case(answers, now) if answers is not None else None,
        received_at=now,
        bucket=bucket,
        shape=shape,
    )
    if _sqlite_file_outside_transaction():
        _group_committer.submit(submission)
        assert submission.verdict is not None
        return submission.verdict, submission.outcome
    with transaction.atomic():
        return _admit(submission)


def open_duplicate_flags(case: Case) -> QuerySet[DuplicateFlag]:
    return DuplicateFlag.objects.filter(case=case, resolved_at=None).select_related("other")


@transaction.atomic
def merge_cases(keep: Case, absorb: Case, by: User) -> Case:
    """Fold `absorb` into `keep`: every intake, step, search, hearing, note and document moves
    over with its own time and author; `absorb` stays as a pointer to `keep`."""
    if keep.pk == absorb.pk:
        raise ValueError("a case cannot be merged into itself")
    if keep.merged_into_id or absorb.merged_into_id:
        raise ValueError("one of these cases has already been merged")
    now = timezone.now()
    Offer.objects.filter(case=absorb, state=OfferState.PENDING).update(
        state=OfferState.WITHDRAWN, answered_at=now
    )
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
        "a_number_last_digits",
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
    DuplicateFlag.objects.filter(case=absorb, resolved_at=None).update(case=keep)
    StatusEvent.objects.create(
        case=keep, status=keep.status, at=now, by=by, note=f"merged case {absorb.pk} into this one"
    )
    return keep


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
            description=str(BondOutcome(bond_outcome).label) if bond_outcome else "",
            hearing=hearing,
        )
    return hearing


@dataclass(frozen=True)
class DeadlineRow:
    deadline: Deadline
    days_left: int

    @property
    def overdue(self) -> bool:
        return self.days_left < 0


def upcoming_deadlines(
    today: date | None = None, cases: QuerySet[Case] | None = None
) -> list[DeadlineRow]:
    """Open deadlines, soonest first; overdue ones first of all."""
    today = today or timezone.localdate()
    found = Deadline.objects.filter(done_at=None, case__merged_into=None).select_related("case")
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
