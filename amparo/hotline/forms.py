"""The intake asks the same questions whether a family types them or a volunteer reads them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from amparo.hotline.a_numbers import normalise_a_number
from amparo.hotline.models import (
    LANGUAGE_CHOICES,
    BondOutcome,
    CaseStatus,
    EncounterPlace,
    HearingKind,
    SearchPlace,
    SearchResult,
)

if TYPE_CHECKING:
    from django.utils.functional import _StrPromise as LazyText

UPDATE_CHANNEL_CHOICES = [
    ("email", _("Email")),
    ("sms", _("Text message")),
    ("", _("No written updates; call me")),
]


@dataclass(frozen=True)
class Section:
    key: str
    legend: LazyText
    fields: tuple[str, ...]
    # Lines a volunteer reads aloud during a call; the public form shows the hint only.
    read_aloud: tuple[LazyText, ...] = ()
    hint: LazyText | str = ""


SECTIONS = (
    Section(
        "caller",
        _("About you"),
        (
            "caller_name",
            "caller_relationship",
            "caller_phone",
            "caller_email",
            "safe_to_call",
            "safe_to_leave_message",
            "caller_language",
            "interpreter_needed",
            "interpreter_dialect",
        ),
        (
            _(
                "Thank you for calling. I am a volunteer with the hotline. I am not a lawyer, "
                "but my job is to get this to a lawyer as fast as possible."
            ),
            _("Is it safe for you to talk right now? May we call you back and leave a message?"),
        ),
        _("We use this only to reach you about this case."),
    ),
    Section(
        "person",
        _("The person who was detained"),
        (
            "legal_name",
            "other_names",
            "date_of_birth",
            "country_of_birth",
            "a_number",
            "best_language",
        ),
        (
            _("Please spell the full name exactly as it is written on their documents."),
            _(
                "The A-number is on papers from immigration. It has 8 or 9 digits and often "
                "starts with the letter A. If you do not have it, that is fine."
            ),
        ),
    ),
    Section(
        "encounter",
        _("What happened"),
        (
            "encounter_place",
            "encounter_place_detail",
            "county",
            "encounter_when",
            "encounter_agency",
            "encounter_papers",
        ),
        (
            _(
                "Your family member has the right to remain silent. They do not have to answer "
                "questions about where they were born or their immigration status."
            ),
            _(
                "They should not sign any paper they do not understand, above all one that "
                "agrees to leave the country, before speaking with a lawyer."
            ),
            _(
                "They have the right to speak with a lawyer. The government does not have to "
                "provide one, which is why we are finding one."
            ),
        ),
    ),
    Section(
        "family",
        _("Children and health"),
        ("children", "children_with", "medical_needs", "medication"),
        (
            _("If there are children, make sure a trusted adult is with them now."),
            _("Tell us the names and doses of any medication; a lawyer can ask the facility."),
        ),
    ),
    Section(
        "needs",
        _("Lawyer and other needs"),
        (
            "existing_attorney",
            "needs_legal",
            "needs_money",
            "needs_childcare",
            "needs_mental_health",
            "needs_consulate",
            "needs_other",
        ),
        (
            _("If they already have a lawyer, we will help you reach them, not replace them."),
            _("Never pay anyone who promises immigration results. A notario is not a lawyer."),
        ),
    ),
    Section(
        "consent",
        _("What we may share"),
        (
            "consent_share_with_attorneys",
            "update_channel",
            "consent_updates_location",
            "consent_updates_status",
            "consent_updates_hearings",
            "consent_updates_attorney",
            "consent_share_with_consulate",
        ),
        (
            _("We share only what you allow. I will read each choice to you."),
            _("When there is news we will contact you the way you choose."),
        ),
        _("You can change these choices later by calling the hotline."),
    ),
)


def _text(label: LazyText, required: bool = False, **kwargs: Any) -> forms.CharField:
    return forms.CharField(label=label, required=required, **kwargs)


def _area(label: LazyText) -> forms.CharField:
    return forms.CharField(label=label, required=False, widget=forms.Textarea(attrs={"rows": 3}))


def _yes(label: LazyText, initial: bool = False) -> forms.BooleanField:
    return forms.BooleanField(label=label, required=False, initial=initial)


class _SharedFields(dict[str, forms.Field]):
    """Form fields that every instance of a form shares instead of deep-copying.

    Django copies a form's fields into each instance so that one instance may change its
    own; for a 40-field form that copy is the largest part of reading a submission. A form
    whose instances never change their fields can hand each the same ones.
    """

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[str, forms.Field]:
        return dict(self)


class IntakeForm(forms.Form):
    caller_name = _text(_("Your name"), required=True, max_length=200)
    caller_relationship = _text(_("Your relationship to the detained person"), max_length=100)
    caller_phone = _text(_("Phone number"), max_length=40)
    caller_email = forms.EmailField(label=_("Email address"), required=False)
    safe_to_call = _yes(_("It is safe to call me at this number"), initial=True)
    safe_to_leave_message = _yes(_("It is safe to leave me a message or text"))
    caller_language = forms.ChoiceField(
        label=_("Your preferred language"), choices=LANGUAGE_CHOICES
    )
    interpreter_needed = _yes(_("I need an interpreter"))
    interpreter_dialect = _text(_("Which language or dialect"), max_length=100)

    legal_name = _text(
        _("Full legal name, exactly as on their documents"), required=True, max_length=300
    )
    other_names = forms.CharField(
        label=_("Other names or spellings they use (one a line)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    date_of_birth = forms.DateField(
        label=_("Date of birth"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    country_of_birth = _text(_("Country of birth"), max_length=100)
    a_number = _text(
        _("A-number, if you have it"),
        max_length=40,
        help_text=_("8 or 9 digits, for example A123-456-789."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "numeric"}),
    )
    best_language = forms.ChoiceField(
        label=_("The language they speak best"), choices=LANGUAGE_CHOICES, required=False
    )

    encounter_place = forms.ChoiceField(
        label=_("Where were they detained?"),
        choices=[("", _("Choose one")), *EncounterPlace.choices],
        required=False,
    )
    encounter_place_detail = _text(_("More about the place"), max_length=200)
    county = _text(_("County"), max_length=100)
    encounter_when = _text(_("When (date and time, as best you know)"), max_length=100)
    encounter_agency = _text(_("Which agency, if you know"), max_length=100)
    encounter_papers = _area(_("Papers they were handed, if any"))

    children = _area(_("Children of the detained person (ages)"))
    children_with = _area(_("Who is with the children now"))
    medical_needs = _area(_("Medical needs"))
    medication = _area(_("Medication they take"))

    existing_attorney = _area(_("Their lawyer or accredited representative, if they have one"))
    needs_legal = _yes(_("A lawyer"), initial=True)
    needs_money = _yes(_("Money for commissary or rent"))
    needs_childcare = _yes(_("Childcare"))
    needs_mental_health = _yes(_("Mental health support"))
    needs_consulate = _yes(_("Contact with their consulate"))
    needs_other = _area(_("Anything else we should know"))

    consent_share_with_attorneys = _yes(
        _("Share this case with the network's partner lawyers so that one can take it")
    )
    update_channel = forms.ChoiceField(
        label=_("How should we send you news?"),
        choices=UPDATE_CHANNEL_CHOICES,
        required=False,
        widget=forms.RadioSelect,
    )
    consent_updates_location = _yes(_("You may tell me where they are held"))
    consent_updates_status = _yes(_("You may tell me how the case is going"))
    consent_updates_hearings = _yes(_("You may tell me hearing dates"))
    consent_updates_attorney = _yes(_("You may tell me which lawyer took the case"))
    consent_share_with_consulate = _yes(_("You may contact their consulate"))

    def _clean_fields(self) -> None:
        """Django's field cleaning without making a BoundField for each field first: reading
        a submission is this form's busiest path, and no field here is disabled or a file
        (a test holds it to that), which are the cases a BoundField is needed for."""
        for name, field in self.fields.items():
            try:
                raw = field.widget.value_from_datadict(self.data, self.files, self.add_prefix(name))
                self.cleaned_data[name] = field.clean(raw)
                own = getattr(self, f"clean_{name}", None)
                if own is not None:
                    self.cleaned_data[name] = own()
            except ValidationError as error:
                self.add_error(name, error)

    # The public form: whoever sends it must leave a way to reach them. A volunteer taking a
    # call (the call script) may have none to note, for instance when the detained person
    # calls from detention, and sets this to False.
    asks_for_a_way_back = True

    def clean_a_number(self) -> str:
        written: str = self.cleaned_data.get("a_number", "")
        return normalise_a_number(written) if written.strip() else ""

    def clean_date_of_birth(self) -> date | None:
        born: date | None = self.cleaned_data.get("date_of_birth")
        if born is not None and born > timezone.localdate():
            raise ValidationError(
                _("This date of birth is in the future; check the year."), code="future"
            )
        if born is not None and born.year < 1900:
            raise ValidationError(_("Check the year of this date of birth."), code="too_early")
        return born

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        channel = cleaned.get("update_channel")
        if channel == "email" and not cleaned.get("caller_email"):
            self.add_error("caller_email", _("Give an email address to get news by email."))
        if channel == "sms" and not cleaned.get("caller_phone"):
            self.add_error("caller_phone", _("Give a phone number to get news by text."))
        # "Call me" is also what an unanswered choice sends: an email address is a way back
        # too, for a family whose phone was taken or is not safe.
        if (
            channel == ""
            and self.asks_for_a_way_back
            and "caller_phone" in cleaned
            and not cleaned["caller_phone"]
            and not cleaned.get("caller_email")
            and "caller_email" not in self.errors
        ):
            self.add_error(
                "caller_phone",
                _("Give a phone number or an email address so that a volunteer can reach you."),
            )
        return cleaned

    def sections(self) -> list[tuple[Section, list[forms.BoundField]]]:
        return [(section, [self[name] for name in section.fields]) for section in SECTIONS]


# Nothing changes an IntakeForm's fields after the class is made; a test holds it to that.
IntakeForm.base_fields = _SharedFields(IntakeForm.base_fields)


class StatusForm(forms.Form):
    status = forms.ChoiceField(label=_("New status"), choices=CaseStatus.choices)
    note = forms.CharField(label=_("Note"), required=False, max_length=300)


class CustodySearchForm(forms.Form):
    where_looked = forms.ChoiceField(label=_("Where you looked"), choices=SearchPlace.choices)
    result = forms.ChoiceField(label=_("Result"), choices=SearchResult.choices)
    facility_name = forms.CharField(label=_("Facility name"), required=False, max_length=200)
    facility_address = forms.CharField(label=_("Facility address"), required=False, max_length=300)
    facility_phone = forms.CharField(label=_("Facility phone"), required=False, max_length=40)
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea({"rows": 2}))


class HearingForm(forms.Form):
    kind = forms.ChoiceField(label=_("Type"), choices=HearingKind.choices)
    court = forms.CharField(label=_("Court"), required=False, max_length=200)
    judge = forms.CharField(label=_("Judge"), required=False, max_length=200)
    scheduled_for = forms.DateTimeField(
        label=_("Date and time"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    decision_date = forms.DateField(
        label=_("Decision date (for a bond decision)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    bond_outcome = forms.ChoiceField(
        label=_("Bond outcome"),
        choices=[("", _("No decision yet")), *BondOutcome.choices],
        required=False,
    )
    bond_amount = forms.IntegerField(label=_("Bond amount (USD)"), required=False, min_value=0)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("bond_outcome") and not cleaned.get("decision_date"):
            self.add_error("decision_date", _("A bond decision needs the date it was made."))
        decided = cleaned.get("decision_date")
        if decided is not None and decided > timezone.localdate():
            # The appeal deadline is counted from it: a date not yet come would move it later.
            self.add_error("decision_date", _("A decision date cannot be in the future."))
        return cleaned


class NoteForm(forms.Form):
    body = forms.CharField(label=_("Note"), widget=forms.Textarea({"rows": 3}))


class ANumberSearchForm(forms.Form):
    a_number = forms.CharField(
        label=_("Find a case by A-number"),
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "numeric"}),
    )

    def clean_a_number(self) -> str:
        return normalise_a_number(self.cleaned_data["a_number"])


class DeclineForm(forms.Form):
    reason = forms.CharField(label=_("Reason (optional)"), required=False, max_length=300)
    conflict = forms.BooleanField(label=_("I have a conflict of interest"), required=False)
