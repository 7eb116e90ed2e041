"""Update templates under review: one coordinator changes the words, another approves them.

Changed words are unreviewed until a second coordinator approves that exact text; only
reviewed templates can be sent (updates.send_family_update refuses the rest). A shipped
template nobody has edited may be approved by any coordinator.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django import forms
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from amparo.accounts.models import User
from amparo.accounts.roles import Role
from amparo.audit.services import record as audit
from amparo.hotline import updates
from amparo.hotline.models import LANGUAGE_CHOICES, UpdateTemplate


class ReviewRefused(ValueError):
    """This edit or approval cannot happen; the message says why, for a coordinator to read."""


def text_version(template: UpdateTemplate) -> str:
    """A fingerprint of the words, so an approval names the exact text the approver read."""
    return hashlib.sha256(f"{template.subject}\n\x00\n{template.body}".encode()).hexdigest()[:16]


def placeholder_problem(text: str) -> str:
    """Why these words cannot be a template, or "" when they can."""
    try:
        named = updates.placeholders_in(text)
    except ValueError:
        return _("A brace is not closed. Write placeholders as {facility}, with both braces.")
    unknown = named - set(updates.PLACEHOLDER_FACTS) - updates.ALWAYS_ALLOWED
    if unknown:
        known = sorted(set(updates.PLACEHOLDER_FACTS) | updates.ALWAYS_ALLOWED)
        return _("Unknown placeholders: %(unknown)s. Known ones are: %(known)s.") % {
            "unknown": ", ".join(sorted(unknown)),
            "known": ", ".join(known),
        }
    return ""


class TemplateTextForm(forms.Form):
    # The words are in the template's language, not the page's: their direction is their own.
    subject = forms.CharField(
        label=gettext_lazy("Subject (email only)"),
        max_length=200,
        widget=forms.TextInput(attrs={"dir": "auto"}),
    )
    body = forms.CharField(
        label=gettext_lazy("Message"), widget=forms.Textarea(attrs={"rows": 10, "dir": "auto"})
    )

    def __init__(self, *args: Any, language: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if language:
            for name in ("subject", "body"):
                self.fields[name].widget.attrs["lang"] = language

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        problem = placeholder_problem(cleaned.get("subject", "") + cleaned.get("body", ""))
        if problem:
            raise forms.ValidationError(problem)
        return cleaned


class TranslationForm(TemplateTextForm):
    language = forms.ChoiceField(label=gettext_lazy("Language"), choices=())

    def __init__(self, *args: Any, missing: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        language = self.fields["language"]
        assert isinstance(language, forms.ChoiceField)
        language.choices = missing
        self.order_fields(["language", "subject", "body"])


def missing_languages(key: str) -> list[tuple[str, str]]:
    """The callers' languages this template has no version in yet, as (code, name) choices."""
    present = set(UpdateTemplate.objects.filter(key=key).values_list("language", flat=True))
    present.add("other")
    return [(code, str(name)) for code, name in LANGUAGE_CHOICES if code not in present]


def _require_coordinator(by: User) -> None:
    if by.role != Role.COORDINATOR:
        raise ReviewRefused(_("Only coordinators edit and approve update templates."))


@transaction.atomic
def edit_template(template: UpdateTemplate, by: User, subject: str, body: str) -> bool:
    """Change the words; the template is unreviewed until someone else approves them.

    Returns False, changing nothing, when the words are the same as before.
    """
    _require_coordinator(by)
    template = UpdateTemplate.objects.select_for_update().get(pk=template.pk)
    if template.subject == subject and template.body == body:
        return False
    problem = placeholder_problem(subject + body)
    if problem:
        raise ReviewRefused(problem)
    updates.edit_template(template, subject, body)
    template.edited_by = by
    template.edited_at = timezone.now()
    template.save(update_fields=["edited_by", "edited_at"])
    audit(by, "hotline.template.edited", target=f"template:{template.pk}")
    return True


@transaction.atomic
def add_translation(key: str, language: str, by: User, subject: str, body: str) -> UpdateTemplate:
    """A new language version of a template, unreviewed until another coordinator approves it."""
    _require_coordinator(by)
    if language not in {code for code, _name in missing_languages(key)}:
        raise ReviewRefused(_("This template already exists in that language; edit it instead."))
    if not UpdateTemplate.objects.filter(key=key).exists():
        raise ReviewRefused(_("There is no template with that name."))
    problem = placeholder_problem(subject + body)
    if problem:
        raise ReviewRefused(problem)
    template = UpdateTemplate(key=key, language=language, subject="", body="")
    template.save()
    updates.edit_template(template, subject, body)
    template.edited_by = by
    template.edited_at = timezone.now()
    template.save(update_fields=["edited_by", "edited_at"])
    audit(by, "hotline.template.translated", target=f"template:{template.pk}", detail=language)
    return template


def may_approve(template: UpdateTemplate, by: User) -> bool:
    return (
        by.role == Role.COORDINATOR
        and template.reviewed_at is None
        and template.edited_by_id != by.pk
    )


@transaction.atomic
def approve_template(template: UpdateTemplate, by: User, version: str) -> None:
    """Mark the words reviewed; refused to the person who last changed them, or if they
    changed after the approver read them."""
    _require_coordinator(by)
    template = UpdateTemplate.objects.select_for_update().get(pk=template.pk)
    if template.reviewed_at is not None:
        raise ReviewRefused(_("This template is already reviewed."))
    if version != text_version(template):
        raise ReviewRefused(
            _("The words changed after you opened the page. Read the new text and approve again.")
        )
    if template.edited_by_id == by.pk:
        raise ReviewRefused(
            _("You changed these words, so another coordinator must read and approve them.")
        )
    updates.mark_reviewed(template, by)
    audit(by, "hotline.template.reviewed", target=f"template:{template.pk}")
