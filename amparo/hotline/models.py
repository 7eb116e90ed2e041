"""Cases of detained people: intake, status timeline, custody searches, hearings, offers.

A-numbers and dates of birth exist here only sealed (see sealed_fields) with a blind index
beside them; nothing else in the schema can hold them.
"""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from amparo.hotline.sealed_fields import unseal


class CaseStatus(models.TextChoices):
    REPORTED = "reported", _("Reported")
    LOCATED = "located", _("Located")
    REFERRED = "referred", _("Referred to an attorney")
    REPRESENTED = "represented", _("Represented")
    BOND_HEARING = "bond_hearing", _("Bond hearing")
    RELEASED = "released", _("Released")
    TRANSFERRED = "transferred", _("Transferred")
    REMOVED = "removed", _("Removed")
    CLOSED = "closed", _("Closed")


OPEN_STATUSES = [
    CaseStatus.REPORTED,
    CaseStatus.LOCATED,
    CaseStatus.REFERRED,
    CaseStatus.REPRESENTED,
    CaseStatus.BOND_HEARING,
    CaseStatus.TRANSFERRED,
]


LANGUAGE_CHOICES = [
    ("es", _("Spanish")),
    ("en", _("English")),
    ("ar", _("Arabic")),
    ("ht", _("Haitian Creole")),
    ("pt", _("Portuguese")),
    ("fr", _("French")),
    ("zh", _("Chinese")),
    ("vi", _("Vietnamese")),
    ("other", _("Another language")),
]


_LANGUAGE_NAMES = dict(LANGUAGE_CHOICES)


def language_name(code: str) -> str:
    """A language the intake asks about, by name in the reader's language (else its code)."""
    return str(_LANGUAGE_NAMES.get(code, code))


class Case(models.Model):
    created_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(
        _("status"), max_length=20, choices=CaseStatus.choices, default=CaseStatus.REPORTED
    )
    # The detained person.
    legal_name = models.CharField(_("full legal name, exactly as on documents"), max_length=300)
    other_names = models.TextField(_("other names and spellings"), blank=True)
    name_key = models.CharField(max_length=300, db_index=True)
    date_of_birth_sealed = models.TextField(blank=True)
    date_of_birth_index = models.CharField(max_length=64, blank=True, db_index=True)
    country_of_birth = models.CharField(_("country of birth"), max_length=100, blank=True)
    a_number_sealed = models.TextField(blank=True)
    a_number_index = models.CharField(max_length=64, blank=True, db_index=True)
    best_language = models.CharField(_("best language"), max_length=40, blank=True)
    # Where they are now, as the last custody search found.
    facility_name = models.CharField(_("facility"), max_length=200, blank=True)
    facility_address = models.CharField(_("facility address"), max_length=300, blank=True)
    facility_phone = models.CharField(_("facility phone"), max_length=40, blank=True)
    county = models.CharField(_("county"), max_length=100, blank=True)
    court = models.CharField(_("immigration court"), max_length=200, blank=True)
    needed_specialty = models.CharField(_("specialty needed"), max_length=40, blank=True)
    assigned_attorney = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="hotline_cases",
    )
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="absorbed"
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"case {self.pk}"

    def best_language_name(self) -> str:
        return language_name(self.best_language)

    def a_number(self) -> str:
        """The nine digits; callers record an audit event before showing them."""
        return unseal("a_number", self.a_number_sealed)

    def date_of_birth(self) -> date | None:
        opened = unseal("date_of_birth", self.date_of_birth_sealed)
        return date.fromisoformat(opened) if opened else None

    @property
    def is_open(self) -> bool:
        return self.merged_into_id is None and self.status in OPEN_STATUSES


class EncounterPlace(models.TextChoices):
    HOME = "home", _("At home")
    WORK = "work", _("At work")
    TRAFFIC_STOP = "traffic_stop", _("Traffic stop")
    COURT = "court", _("At court")
    CHECK_IN = "check_in", _("At a check-in")
    AFTER_JAIL = "after_jail", _("After release from jail")
    OTHER = "other", _("Somewhere else")


class IntakeChannel(models.TextChoices):
    PUBLIC_FORM = "public_form", _("Public form")
    CALL = "call", _("Hotline call")
    PLAN_ACTIVATION = "plan_activation", _("Plan activation")


class Intake(models.Model):
    """One report about a case, as the caller gave it. A merged case keeps every intake."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="intakes")
    received_at = models.DateTimeField(default=timezone.now)
    channel = models.CharField(max_length=20, choices=IntakeChannel.choices)
    taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The caller.
    caller_name = models.CharField(_("your name"), max_length=200)
    caller_relationship = models.CharField(_("relationship"), max_length=100, blank=True)
    caller_phone = models.CharField(_("phone"), max_length=40, blank=True)
    caller_email = models.EmailField(_("email"), blank=True)
    safe_to_call = models.BooleanField(_("safe to call"), default=True)
    safe_to_leave_message = models.BooleanField(_("safe to leave a message"), default=False)
    caller_language = models.CharField(_("preferred language"), max_length=8)
    interpreter_needed = models.BooleanField(_("interpreter needed"), default=False)
    interpreter_dialect = models.CharField(_("language or dialect"), max_length=100, blank=True)
    update_channel = models.CharField(_("updates by"), max_length=10, blank=True)
    # The encounter.
    encounter_place = models.CharField(
        _("where"), max_length=20, choices=EncounterPlace.choices, blank=True
    )
    encounter_place_detail = models.CharField(_("place details"), max_length=200, blank=True)
    encounter_when = models.CharField(_("when"), max_length=100, blank=True)
    encounter_agency = models.CharField(_("agency, if known"), max_length=100, blank=True)
    encounter_papers = models.TextField(_("papers they were handed"), blank=True)
    # Family and health.
    children = models.TextField(_("children"), blank=True)
    children_with = models.TextField(_("who is with the children now"), blank=True)
    medical_needs = models.TextField(_("medical needs"), blank=True)
    medication = models.TextField(_("medication"), blank=True)
    existing_attorney = models.TextField(_("existing attorney or representative"), blank=True)
    # Needs.
    needs_legal = models.BooleanField(_("legal help"), default=True)
    needs_money = models.BooleanField(_("money for commissary or rent"), default=False)
    needs_childcare = models.BooleanField(_("childcare"), default=False)
    needs_mental_health = models.BooleanField(_("mental health support"), default=False)
    needs_consulate = models.BooleanField(_("contact with the consulate"), default=False)
    needs_other = models.TextField(_("anything else"), blank=True)
    # Consent: who may learn what.
    consent_share_with_attorneys = models.BooleanField(default=False)
    consent_updates_status = models.BooleanField(default=False)
    consent_updates_location = models.BooleanField(default=False)
    consent_updates_hearings = models.BooleanField(default=False)
    consent_updates_attorney = models.BooleanField(default=False)
    consent_share_with_consulate = models.BooleanField(default=False)

    class Meta:
        ordering = ["received_at", "id"]

    def __str__(self) -> str:
        return f"intake {self.pk} of case {self.case_id}"

    def caller_language_name(self) -> str:
        return language_name(self.caller_language)


class StatusEvent(models.Model):
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="status_events")
    status = models.CharField(max_length=20, choices=CaseStatus.choices)
    at = models.DateTimeField(default=timezone.now)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.CharField(max_length=300, blank=True)
    # A step that came over in a merge: the case it was first recorded on.
    from_case = models.ForeignKey(
        Case, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The step a merge records on the surviving case: the case merged into it.
    merged_case = models.ForeignKey(
        Case, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.status} on case {self.case_id}"


class DuplicateReason(models.TextChoices):
    A_NUMBER = "a_number", _("Same A-number")
    NAME_BIRTH = "name_birth", _("Similar name, same date and country of birth")


class DuplicateFlag(models.Model):
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="duplicate_flags")
    other = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=20, choices=DuplicateReason.choices)
    flagged_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolution = models.CharField(max_length=20, blank=True)

    class Meta:
        ordering = ["flagged_at", "id"]

    def __str__(self) -> str:
        return f"case {self.case_id} may duplicate case {self.other_id}"


class SearchPlace(models.TextChoices):
    ONLINE_LOCATOR = "online_locator", _("Official online detainee locator")
    FACILITY = "facility", _("Detention facility")
    FIELD_OFFICE = "field_office", _("Field office")
    COUNTY_JAIL = "county_jail", _("County jail")
    OTHER = "other", _("Other")


class SearchResult(models.TextChoices):
    FOUND = "found", _("Found")
    NOT_FOUND = "not_found", _("Not found")
    NO_ANSWER = "no_answer", _("No answer")
    TRANSFERRED = "transferred", _("Transferred elsewhere")
    RELEASED = "released", _("Released")


class CustodySearch(models.Model):
    """One look-up a person made by hand. Amparo never makes these itself."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="custody_searches")
    searched_at = models.DateTimeField(default=timezone.now)
    searched_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    where_looked = models.CharField(
        _("where you looked"), max_length=20, choices=SearchPlace.choices
    )
    result = models.CharField(_("result"), max_length=20, choices=SearchResult.choices)
    facility_name = models.CharField(_("facility name"), max_length=200, blank=True)
    facility_address = models.CharField(_("facility address"), max_length=300, blank=True)
    facility_phone = models.CharField(_("facility phone"), max_length=40, blank=True)
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        ordering = ["searched_at", "id"]

    def __str__(self) -> str:
        return f"custody search {self.pk} on case {self.case_id}"


class HearingKind(models.TextChoices):
    MASTER = "master", _("Master calendar hearing")
    BOND = "bond", _("Bond hearing")
    INDIVIDUAL = "individual", _("Individual (merits) hearing")
    CREDIBLE_FEAR = "credible_fear", _("Credible fear review")
    OTHER = "other", _("Other")


class BondOutcome(models.TextChoices):
    GRANTED = "granted", _("Bond granted")
    DENIED = "denied", _("Bond denied")
    NO_JURISDICTION = "no_jurisdiction", _("No jurisdiction")


class Hearing(models.Model):
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="hearings")
    kind = models.CharField(_("type"), max_length=20, choices=HearingKind.choices)
    court = models.CharField(_("court"), max_length=200, blank=True)
    judge = models.CharField(_("judge"), max_length=200, blank=True)
    scheduled_for = models.DateTimeField(_("date and time"), null=True, blank=True)
    decision_date = models.DateField(_("decision date"), null=True, blank=True)
    bond_outcome = models.CharField(
        _("bond outcome"), max_length=20, choices=BondOutcome.choices, blank=True
    )
    bond_amount = models.PositiveIntegerField(_("bond amount (USD)"), null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["scheduled_for", "id"]

    def __str__(self) -> str:
        return f"{self.kind} hearing on case {self.case_id}"


class DeadlineKind(models.TextChoices):
    BOND_APPEAL = "bond_appeal", _("Bond appeal must be received")
    OTHER = "other", _("Other")


class Deadline(models.Model):
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="deadlines")
    kind = models.CharField(max_length=20, choices=DeadlineKind.choices)
    due_on = models.DateField()
    description = models.CharField(max_length=300, blank=True)
    hearing = models.ForeignKey(
        Hearing, null=True, blank=True, on_delete=models.PROTECT, related_name="deadlines"
    )
    created_at = models.DateTimeField(default=timezone.now)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_on", "id"]

    def __str__(self) -> str:
        return f"{self.kind} due {self.due_on} on case {self.case_id}"


class DeadlineReminder(models.Model):
    """One reminder sent; the unique constraint is what makes the command idempotent."""

    deadline = models.ForeignKey(Deadline, on_delete=models.CASCADE, related_name="reminders")
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    days_before = models.PositiveIntegerField()
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["deadline", "recipient", "days_before"], name="deadline_reminder_once"
            )
        ]

    def __str__(self) -> str:
        return f"reminder for deadline {self.deadline_id}"


class Note(models.Model):
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    written_at = models.DateTimeField(default=timezone.now)
    body = models.TextField(_("note"))

    class Meta:
        ordering = ["written_at", "id"]

    def __str__(self) -> str:
        return f"note {self.pk} on case {self.case_id}"


class OfferState(models.TextChoices):
    PENDING = "pending", _("Waiting for an answer")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")
    CONFLICT = "conflict", _("Declined: conflict of interest")
    EXPIRED = "expired", _("No answer in time")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class Offer(models.Model):
    """A case offered to one attorney. At most one offer per case waits at a time."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="offers")
    attorney = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="hotline_offers"
    )
    rank = models.PositiveIntegerField(default=1)
    offered_at = models.DateTimeField(default=timezone.now)
    offered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    expires_at = models.DateTimeField()
    no_conflict_confirmed_at = models.DateTimeField(null=True, blank=True)
    details_viewed_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=20, choices=OfferState.choices, default="pending")
    decline_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["offered_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["case"], condition=Q(state="pending"), name="one_pending_offer_per_case"
            )
        ]

    def __str__(self) -> str:
        return f"offer {self.pk} of case {self.case_id}"


class UpdateFact(models.TextChoices):
    STATUS = "status", _("Case status")
    LOCATION = "location", _("Where the person is held")
    HEARINGS = "hearings", _("Hearing dates")
    ATTORNEY = "attorney", _("Who the attorney is")


# The messages a network starts with (default_templates.py), by name.
TEMPLATE_NAMES = {
    "located": _("Where they are held"),
    "attorney_assigned": _("A lawyer took the case"),
    "hearing": _("A hearing date"),
    "status": _("How the case is going"),
}


class UpdateTemplate(models.Model):
    """A message the network has reviewed, in one language. Placeholders name facts."""

    key = models.CharField(max_length=40)
    language = models.CharField(max_length=8)
    subject = models.CharField(max_length=200)
    body = models.TextField()
    # Comma-separated UpdateFact values the body reveals; sending needs consent to each.
    reveals = models.CharField(max_length=100, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    # Who last changed the words; that person may not also be the one who approves them.
    edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    edited_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["key", "language"]
        constraints = [
            models.UniqueConstraint(fields=["key", "language"], name="update_template_language")
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.language})"

    def revealed_facts(self) -> set[str]:
        return {fact.strip() for fact in self.reveals.split(",") if fact.strip()}

    def name(self) -> str:
        """What the message is for, in the reader's language (else its key)."""
        return str(TEMPLATE_NAMES.get(self.key, self.key))

    def language_name(self) -> str:
        return language_name(self.language)

    def reveal_names(self) -> list[str]:
        labels = dict(UpdateFact.choices)
        return [str(labels.get(fact, fact)) for fact in sorted(self.revealed_facts())]


class FamilyUpdate(models.Model):
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="family_updates")
    intake = models.ForeignKey(Intake, on_delete=models.PROTECT, related_name="family_updates")
    template = models.ForeignKey(UpdateTemplate, on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(max_length=10)
    sent_at = models.DateTimeField(default=timezone.now)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    delivered = models.BooleanField(default=False)
    failure = models.CharField(max_length=300, blank=True)
    # The words as sent: the template may be edited later, and the case must show what the
    # family was actually told. Empty for updates sent before this was kept.
    subject = models.CharField(max_length=300, blank=True)
    body = models.TextField(blank=True)

    class Meta:
        ordering = ["sent_at", "id"]

    def __str__(self) -> str:
        return f"family update {self.pk} on case {self.case_id}"


class CaseDocumentKind(models.TextChoices):
    NOTICE_TO_APPEAR = "notice_to_appear", _("Notice to appear")
    BOND_DECISION = "bond_decision", _("Bond decision")
    I_213 = "i_213", _("Form I-213 given to the family")
    COURT_NOTICE = "court_notice", _("Other court or agency notice")
    OTHER = "other", _("Other document")


class CaseDocument(models.Model):
    """A document on a case; the original lives encrypted in the evidence store, never altered."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="documents")
    kind = models.CharField(
        _("what it is"), max_length=20, choices=CaseDocumentKind.choices, default="other"
    )
    item_id = models.CharField(max_length=64, unique=True)
    filename = models.CharField(max_length=200)
    media_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    # The custody log index of the "ingested" entry: the receipt an export carries.
    receipt_index = models.PositiveBigIntegerField()
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["added_at", "id"]

    def __str__(self) -> str:
        return f"document {self.pk} on case {self.case_id}"


class IntakeBucket(models.Model):
    """A token bucket for the public form, per form and never per person: no address kept."""

    name = models.CharField(max_length=40, primary_key=True)
    tokens = models.FloatField()
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"bucket {self.name}"
