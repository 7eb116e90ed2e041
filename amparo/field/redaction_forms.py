"""Forms for making a working copy and for the person's check of it."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _


class WorkingCopyForm(forms.Form):
    # Unticked (and absent) means blur: a copy for sharing hides bystanders by default.
    keep_faces = forms.BooleanField(
        label=_("Leave faces unblurred (only if everyone shown agreed or must be recognisable)"),
        required=False,
    )


class CheckForm(forms.Form):
    DECISIONS = (("approve", _("Confirm")), ("reject", _("Reject")), ("redo", _("Blur more")))

    decision = forms.ChoiceField(choices=DECISIONS, widget=forms.HiddenInput)
    confirmed = forms.BooleanField(required=False)
    boxes = forms.CharField(
        label=_("Rectangles to blur, one a line: left, top, width, height (in pixels)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=4000,
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        decision = cleaned.get("decision")
        if decision == "approve" and not cleaned.get("confirmed"):
            raise forms.ValidationError(_("Tick the box to confirm that you checked the copy."))
        if decision == "redo" and not str(cleaned.get("boxes") or "").strip():
            raise forms.ValidationError(_("Give at least one rectangle to blur."))
        return cleaned
