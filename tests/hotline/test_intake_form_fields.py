"""IntakeForm instances share their fields instead of deep-copying them (the copy was the
largest part of reading a submission). That is safe only while nothing changes a field after
the class is made: these tests render and validate the form as the public page and the call
script do, in every language, and check that every field is as it was."""

from __future__ import annotations

from typing import Any

import pytest
from django import forms
from django.test import Client
from django.urls import reverse
from django.utils import translation

from amparo.hotline.forms import IntakeForm


def snapshot() -> dict[str, Any]:
    described: dict[str, Any] = {}
    for name, field in IntakeForm.base_fields.items():
        described[name] = (
            type(field),
            field.required,
            field.initial,
            field.disabled,
            str(field.label),
            dict(field.widget.attrs),
            type(field.widget),
            field.widget.is_required,
            [tuple(map(str, choice)) for choice in getattr(field, "choices", [])],
            list(field.validators),
            field.error_messages.copy(),
        )
    return described


def test_instances_share_the_class_fields():
    first, second = IntakeForm(), IntakeForm({"caller_name": "x"})
    assert first.fields is not second.fields  # each has its own mapping ...
    assert first.fields["a_number"] is second.fields["a_number"]  # ... of the same fields
    first.fields["extra"] = first.fields["a_number"]
    assert "extra" not in IntakeForm.base_fields


@pytest.mark.django_db
def test_rendering_and_validating_change_no_field():
    before = snapshot()
    client = Client()
    for language in ("en", "es", "ar"):
        with translation.override(language):
            assert client.get(reverse("hotline:help")).status_code == 200
            invalid = client.post(reverse("hotline:help"), {"a_number": "12", "caller_name": ""})
            assert invalid.status_code == 200
            bound = IntakeForm(
                {
                    "caller_name": "Rosa",
                    "caller_phone": "555 0100",
                    "legal_name": "Ana",
                    "caller_language": "es",
                }
            )
            assert bound.is_valid(), bound.errors
            str(bound)
            for _section, fields in bound.sections():
                for field in fields:
                    str(field)
    assert snapshot() == before


def test_no_field_needs_a_bound_field_to_be_cleaned():
    """IntakeForm cleans its fields without BoundFields, which Django needs only for
    disabled fields (cleaned from their initial value) and file fields."""
    for name, field in IntakeForm.base_fields.items():
        assert not field.disabled, name
        assert not isinstance(field, forms.FileField), name


class DjangosCleaning(IntakeForm):
    """The same form, its fields cleaned the way Django's own Form does it."""

    _clean_fields = forms.Form._clean_fields  # type: ignore[attr-defined]  # not in the stubs


SUBMISSIONS = [
    {"caller_name": "Rosa", "legal_name": "Ana", "caller_language": "es"},
    {
        "caller_name": "Rosa",
        "legal_name": " Ana López ",
        "caller_language": "es",
        "a_number": "a 012-345-678",
        "date_of_birth": "1987-03-14",
        "caller_email": "rosa@example.org",
        "update_channel": "email",
        "safe_to_call": "on",
        "needs_money": "on",
    },
    {"caller_name": "", "legal_name": "", "caller_language": "xx", "a_number": "12"},
    {"caller_name": "R", "legal_name": "A", "caller_language": "en", "date_of_birth": "14/3"},
    {"caller_name": "R", "legal_name": "A", "caller_language": "en", "update_channel": "email"},
    {"caller_name": "R", "legal_name": "A", "caller_language": "ar", "caller_email": "no@"},
    {"caller_name": "R" * 201, "legal_name": "A", "caller_language": "en", "update_channel": "sms"},
]


@pytest.mark.parametrize("data", SUBMISSIONS)
@pytest.mark.parametrize("language", ["en", "es"])
def test_cleaning_matches_djangos(data: dict[str, str], language: str):
    with translation.override(language):
        ours, theirs = IntakeForm(data), DjangosCleaning(data)
        assert ours.is_valid() == theirs.is_valid()
        assert ours.errors.get_json_data() == theirs.errors.get_json_data()
        if ours.is_valid():
            assert ours.cleaned_data == theirs.cleaned_data
