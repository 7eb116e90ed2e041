"""IntakeForm instances share their fields instead of deep-copying them (the copy was the
largest part of reading a submission). That is safe only while nothing changes a field after
the class is made: these tests render and validate the form as the public page and the call
script do, in every language, and check that every field is as it was."""

from __future__ import annotations

from typing import Any

import pytest
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
                {"caller_name": "Rosa", "legal_name": "Ana", "caller_language": "es"}
            )
            assert bound.is_valid(), bound.errors
            str(bound)
            for _section, fields in bound.sections():
                for field in fields:
                    str(field)
    assert snapshot() == before
