"""Forms for accounts. Plain HTML inputs with labels; they work without JavaScript."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from amparo.accounts.models import PartnerOrganization
from amparo.accounts.roles import Role

DATETIME_INPUT_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"]


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs, format="%Y-%m-%dT%H:%M")


def _window_field(label: str | Any, help_text: str | Any) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        required=False,
        input_formats=DATETIME_INPUT_FORMATS,
        widget=DateTimeLocalInput(),
        help_text=help_text,
    )


class AccessWindowMixin(forms.Form):
    access_starts_at = _window_field(
        _("Access starts"), _("Optional. Leave empty for access from now on.")
    )
    access_ends_at = _window_field(
        _("Access ends"), _("Optional. Leave empty for no end. For time-limited volunteers.")
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        starts: datetime | None = cleaned.get("access_starts_at")
        ends: datetime | None = cleaned.get("access_ends_at")
        if starts and ends and ends <= starts:
            raise forms.ValidationError(_("The access window must end after it starts."))
        return cleaned


class SignInForm(forms.Form):
    username = forms.CharField(
        label=_("Username"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none"}),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Six-digit code from the app"),
        max_length=40,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "autocapitalize": "none",
            }
        ),
    )


class VerifyForm(forms.Form):
    code = forms.CharField(
        label=_("Six-digit code from your authenticator app, or a recovery code"),
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autocapitalize": "none"}),
    )


class AcceptInvitationForm(forms.Form):
    token = forms.CharField(widget=forms.HiddenInput, max_length=200)
    username = forms.CharField(
        label=_("Choose a username"),
        max_length=150,
        help_text=_("Letters, digits and @ . + - _ only. You will type it to sign in."),
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none"}),
    )
    password = forms.CharField(
        label=_("Choose a password"),
        strip=False,
        help_text=_("At least 12 characters; not a common password. A passphrase works well."),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password_again = forms.CharField(
        label=_("Type the password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean_username(self) -> str:
        from django.contrib.auth.validators import UnicodeUsernameValidator

        username: str = self.cleaned_data["username"].strip()
        UnicodeUsernameValidator()(username)
        return username

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("password") != cleaned.get("password_again"):
            self.add_error("password_again", _("The two passwords are not the same."))
        return cleaned


class OwnEmailForm(forms.Form):
    email = forms.EmailField(
        label=_("Email address"),
        required=False,
        help_text=_(
            "Deadline reminders and notices for your work are sent here. Leave it empty to get "
            "none."
        ),
    )


class InviteForm(AccessWindowMixin):
    display_name = forms.CharField(label=_("Name"), max_length=200, required=False)
    email = forms.EmailField(
        label=_("Email address"),
        required=False,
        help_text=_("Optional. You hand the link over yourself; Amparo does not send it."),
    )
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
    organization = forms.ModelChoiceField(
        label=_("Partner organization"),
        queryset=PartnerOrganization.objects.all(),
        required=False,
        help_text=_("For attorneys: the legal-service provider they work for."),
    )

    field_order = [
        "display_name",
        "email",
        "role",
        "organization",
        "access_starts_at",
        "access_ends_at",
    ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not cleaned.get("display_name") and not cleaned.get("email"):
            raise forms.ValidationError(_("Give a name or an email address."))
        return cleaned


class AccessWindowForm(AccessWindowMixin):
    pass


class OrganizationForm(forms.Form):
    name = forms.CharField(label=_("Organization name"), max_length=200)

    def clean_name(self) -> str:
        name: str = self.cleaned_data["name"].strip()
        if PartnerOrganization.objects.filter(name__iexact=name).exists():
            raise forms.ValidationError(_("An organization with that name already exists."))
        return name
