from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from amparo.directory.models import AttorneyProfile, Specialty
from amparo.hotline.models import LANGUAGE_CHOICES


class AttorneyProfileForm(forms.ModelForm):  # type: ignore[type-arg]
    languages_chosen = forms.MultipleChoiceField(
        label=_("Languages you work in"),
        choices=[c for c in LANGUAGE_CHOICES if c[0] != "other"],
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    specialties_chosen = forms.MultipleChoiceField(
        label=_("Specialties"),
        choices=Specialty.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = AttorneyProfile
        fields = ["counties", "courts", "facilities", "capacity", "accepting", "phone"]
        help_texts = {
            "counties": _("One a line."),
            "courts": _("One a line."),
            "facilities": _("One a line, as the facility names itself."),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.initial["languages_chosen"] = self.instance.language_list()
        self.initial["specialties_chosen"] = self.instance.specialty_list()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("accepting") and cleaned.get("capacity") == 0:
            # Nobody is suggested with no free place: say so rather than save a profile that
            # says "accepting" and is never offered a case.
            self.add_error(
                "capacity",
                _(
                    "Say how many cases you can take at once, or untick “accepting new cases”: "
                    "with 0, no case is offered to you."
                ),
            )
        return cleaned

    def save(self, commit: bool = True) -> AttorneyProfile:
        profile: AttorneyProfile = super().save(commit=False)
        profile.languages = "\n".join(self.cleaned_data["languages_chosen"])
        profile.specialties = "\n".join(self.cleaned_data["specialties_chosen"])
        if commit:
            profile.save()
        return profile


class ImportForm(forms.Form):
    csv_file = forms.FileField(label=_("CSV file"))
