"""Forms for deployments, rosters, check-ins and attachments."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from amparo.accounts.models import User
from amparo.accounts.roles import Role
from amparo.field.models import AttendanceKind


class DeploymentRequestForm(forms.Form):
    """What an organizer sends; no account needed and nothing about their connection kept."""

    event_name = forms.CharField(label=_("Name of the event"), max_length=200)
    organization = forms.CharField(label=_("Organization"), max_length=200)
    contact_name = forms.CharField(label=_("Contact person"), max_length=200)
    contact_how = forms.CharField(
        label=_("How to reach the contact person"),
        max_length=300,
        help_text=_("A phone number or email address for the coordinator to reply to."),
    )
    starts_at = forms.DateTimeField(
        label=_("Date and start time"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    ends_at = forms.DateTimeField(
        label=_("End time (if known)"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    place = forms.CharField(label=_("Place"), max_length=300)
    expected_size = forms.IntegerField(
        label=_("Expected number of people"), min_value=1, required=False
    )
    expectations = forms.CharField(
        label=_("What you expect"),
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        help_text=_("Route, speakers, anything that may need observers' attention."),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        starts, ends = cleaned.get("starts_at"), cleaned.get("ends_at")
        if starts and ends and ends <= starts:
            self.add_error("ends_at", _("The end must come after the start."))
        return cleaned


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("Decision"), choices=[("approve", _("Approve")), ("decline", _("Decline"))]
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=2000)


class AssignmentForm(forms.Form):
    observer = forms.ModelChoiceField(label=_("Observer"), queryset=User.objects.none())
    pair = forms.IntegerField(label=_("Pair number"), min_value=1, max_value=999, required=False)
    post = forms.CharField(label=_("Post"), max_length=200, required=False)

    def __init__(self, *args: Any, observers: list[User] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["observer"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = User.objects.filter(pk__in=[u.pk for u in observers or []])
        field.label_from_instance = _observer_label  # type: ignore[method-assign,assignment]


def _observer_label(user: User) -> str:
    return user.display_name or user.username


class LegalTeamForm(forms.Form):
    attorneys = forms.ModelMultipleChoiceField(
        label=_("Attorneys on the legal team"),
        queryset=User.objects.filter(role=Role.ATTORNEY, is_active=True).order_by("username"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )


class AttendanceForm(forms.Form):
    kind = forms.ChoiceField(label=_("What"), choices=AttendanceKind.choices)
    all_handed_in = forms.TypedChoiceField(
        label=_("All notes and media handed in?"),
        choices=[("", "—"), ("yes", _("Yes, all handed in")), ("no", _("No, not all"))],
        coerce=lambda value: value == "yes",
        empty_value=None,
        required=False,
    )
    note = forms.CharField(label=_("Note"), max_length=300, required=False)


class AttachmentForm(forms.Form):
    file = forms.FileField(label=_("Photo, video, audio or document"))
    shows_injury = forms.BooleanField(
        label=_("This photo shows an injury (kept only with the injured person's consent)"),
        required=False,
    )


class CertifiedForm(forms.Form):
    certified = forms.BooleanField(label=_("Certified"), required=False)


class ConnectDeviceForm(forms.Form):
    label = forms.CharField(
        label=_("Name this phone"), max_length=100, initial=_("My phone"), required=True
    )
