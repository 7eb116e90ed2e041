"""Alien registration numbers: how people write them, and the one form Amparo stores."""

from __future__ import annotations

import re
import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

# Spaces, hyphens (and dashes), dots, slashes and underscores are how people group the
# digits; Arabic keyboards add their own thousands and decimal separators.
SEPARATORS = re.compile(r"[\s\-./_\u2010-\u2015\u2212\u066b\u066c]+")


def _ascii_digits(text: str) -> str:
    """Decimal digits of any script (Arabic-Indic, Persian, full-width...) as 0-9."""
    return "".join(str(unicodedata.decimal(c)) if c.isdecimal() else c for c in text)


def normalise_a_number(written: str) -> str:
    """Return the nine digits of an A-number, or raise ValidationError saying what is wrong.

    An optional leading "A" is dropped, separators are ignored, and eight digits get a
    leading zero (older A-numbers have eight).
    """
    compact = _ascii_digits(SEPARATORS.sub("", written.strip()))
    if compact[:1] in {"A", "a", "Ａ", "ａ"}:
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
