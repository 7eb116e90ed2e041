"""Forms for family pages: short, one question at a time where it matters, phone-friendly."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from amparo.preparedness.models import (
    FAMILY_LANGUAGES,
    DocumentItem,
    DocumentKind,
    EmergencyContact,
    HouseholdMember,
    Plan,
)


class StartForm(forms.Form):
    display_name = forms.CharField(label=_("Your name"), max_length=200)
    username = forms.CharField(
        label=_("A username you will remember"),
        max_length=60,
        help_text=_("Not your phone number or email: a word or nickname is fine."),
    )
    language = forms.ChoiceField(label=_("Your language"), choices=FAMILY_LANGUAGES)
    passphrase = forms.CharField(
        label=_("Passphrase"),
        strip=False,
        widget=forms.PasswordInput(render_value=True, attrs={"autocomplete": "new-password"}),
        help_text=_("Use the one we suggest above, or your own of at least 12 characters."),
    )


class LanguageForm(forms.Form):
    language = forms.ChoiceField(
        label=_("Your language"),
        choices=FAMILY_LANGUAGES,
        help_text=_("For these pages, your rights card and the caregiver's packet."),
    )


class SignInForm(forms.Form):
    username = forms.CharField(
        label=_("Username"),
        max_length=60,
        widget=forms.TextInput(attrs={"autocomplete": "username"}),
    )
    passphrase = forms.CharField(
        label=_("Passphrase"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("The 6-digit code from your authenticator app"),
        max_length=12,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )


class ConfirmPassphraseForm(forms.Form):
    ACTIONS = (("new_phone", "new_phone"), ("new_codes", "new_codes"))

    action = forms.ChoiceField(choices=ACTIONS, widget=forms.HiddenInput)
    passphrase = forms.CharField(
        label=_("Your passphrase, to confirm it is you"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class SignInCodeForm(forms.Form):
    code = forms.CharField(
        label=_("The 6-digit code from your authenticator app, or a recovery code"),
        help_text=_("Lost your phone? Type one of the recovery codes you kept on paper."),
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autocapitalize": "none"}),
    )


class PlanForm(forms.ModelForm[Plan]):
    class Meta:
        model = Plan
        fields = [
            "person_name",
            "attorney_name",
            "attorney_organization",
            "attorney_phone",
            "representation_form",
            "consulate_phone",
            "rent_paid_by",
            "bills_paid_by",
            "accounts_note",
            "money_power_of_attorney",
            "hotline_may_act",
            "share_with_attorneys",
            "packet_includes_immigration",
        ]
        widgets = {
            "accounts_note": forms.Textarea(attrs={"rows": 3}),
            "money_power_of_attorney": forms.Textarea(attrs={"rows": 2}),
        }


class MemberForm(forms.ModelForm[HouseholdMember]):
    class Meta:
        model = HouseholdMember
        fields = [
            "name",
            "is_child",
            "relationship",
            "primary_caregiver",
            "primary_caregiver_phone",
            "backup_caregiver",
            "backup_caregiver_phone",
            "instrument",
            "instrument_state",
            "instrument_signed_on",
            "original_kept_at",
            "school",
            "school_pickup",
            "allergies",
            "medication",
            "doctor",
        ]
        widgets = {
            "instrument_signed_on": forms.DateInput(attrs={"type": "date"}),
            "school_pickup": forms.Textarea(attrs={"rows": 2}),
            "allergies": forms.Textarea(attrs={"rows": 2}),
            "medication": forms.Textarea(attrs={"rows": 2}),
        }


class ContactForm(forms.ModelForm[EmergencyContact]):
    class Meta:
        model = EmergencyContact
        fields = [
            "name",
            "relationship",
            "language",
            "channel",
            "email",
            "phone",
            "may_be_told",
            "message",
        ]
        widgets = {"message": forms.Textarea(attrs={"rows": 3})}

    def clean(self) -> dict[str, object]:
        cleaned = super().clean() or {}
        if cleaned.get("channel") == "email" and not cleaned.get("email"):
            self.add_error("email", _("Give an email address, or choose text message."))
        if cleaned.get("channel") == "sms" and not cleaned.get("phone"):
            self.add_error("phone", _("Give a mobile number, or choose email."))
        return cleaned


class DocumentItemForm(forms.ModelForm[DocumentItem]):
    class Meta:
        model = DocumentItem
        fields = ["have", "where_kept"]


class UploadForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Which document"),
        choices=[("", _("Other")), *DocumentKind.choices],
        required=False,
    )
    file = forms.FileField(label=_("File (a scan or a photo)"))


class PinForm(forms.Form):
    pin = forms.CharField(
        label=_("PIN (at least 4 digits)"),
        max_length=12,
        widget=forms.PasswordInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )


class TrustedPersonForm(forms.Form):
    name = forms.CharField(label=_("Name of the person you trust"), max_length=200)


class TrustedActivationForm(forms.Form):
    reference = forms.CharField(label=_("Plan reference"), max_length=20)
    code = forms.CharField(
        label=_("Your activation code"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )


class ShareForm(forms.Form):
    label = forms.CharField(label=_("Who is this link for?"), max_length=100)
    days = forms.IntegerField(
        label=_("Days the link works"), min_value=1, max_value=365, initial=30
    )


class VolunteerLookupForm(forms.Form):
    reference = forms.CharField(label=_("Plan reference the caller gives you"), max_length=20)
