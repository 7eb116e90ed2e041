"""Alien registration numbers: how people write them, and the one form Amparo stores."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

# Spaces, hyphens, dots, slashes and underscores are how people group the digits.
SEPARATORS = re.compile(r"[\s\-./_]+")


def normalise_a_number(written: str) -> str:
    """Return the nine digits of an A-number, or raise ValidationError saying what is wrong.

    An optional leading "A" is dropped, separators are ignored, and eight digits get a
    leading zero (older A-numbers have eight).
    """
    compact = SEPARATORS.sub("", written.strip())
    if compact[:1] in {"A", "a"}:
        compact = compact[1:]
    if compact == "":
        raise ValidationError(_("Enter the A-number: 8 or 9 digits."), code="empty")
    if not compact.isascii() or not compact.isdigit():
        raise ValidationError(
            _(
                "An A-number has only digits, sometimes after the letter A "
                "(for example A123-456-789)."
            ),
            code="not_digits",
        )
    if len(compact) == 8:
        compact = "0" + compact
    if len(compact) != 9:
        raise ValidationError(
            _("An A-number has 8 or 9 digits; this one has %(count)d."),
            code="length",
            params={"count": len(compact)},
        )
    if set(compact) == {"0"}:
        raise ValidationError(_("An A-number cannot be all zeros."), code="zeros")
    return compact


def format_a_number(digits: str) -> str:
    """The nine digits as they are printed on documents: A123-456-789."""
    return f"A{digits[:3]}-{digits[3:6]}-{digits[6:]}" if len(digits) == 9 else digits


def masked_a_number(digits: str) -> str:
    """Only the last three digits, for pages that need to tell cases apart."""
    return f"A•••-•••-{digits[6:]}" if len(digits) == 9 else ""
