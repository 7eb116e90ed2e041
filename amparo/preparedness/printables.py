"""The printables: a two-sided CR80 rights card and the caregiver's plan packet, as PDF.

WeasyPrint renders them from templates in the server process; nothing reaches out to the
network (no base URL), and the QR code is an SVG made by segno, embedded as a data URI.
"""

from __future__ import annotations

from typing import Any

import segno
from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation
from weasyprint import HTML  # type: ignore[import-untyped]

from amparo.preparedness.alerts import hotline_number, hotline_uri
from amparo.preparedness.card_text import (
    CARD_TEXTS,
    REVIEWED_CARD_LANGUAGES,
    RIGHT_TO_LEFT,
    card_text,
)
from amparo.preparedness.models import (
    IMMIGRATION_DOCUMENTS,
    Plan,
)
from amparo.preparedness.services import format_reference


def qr_svg_data_uri(text: str) -> str:
    return str(segno.make(text, error="m").svg_data_uri(scale=4, border=2))


def _pdf(html: str) -> bytes:
    return bytes(HTML(string=html, base_url=None).write_pdf())


def card_language(plan: Plan, requested: str = "") -> str:
    if requested in CARD_TEXTS:
        return requested
    return plan.account.language if plan.account.language in CARD_TEXTS else "en"


def render_card(plan: Plan, language: str) -> bytes:
    """The rights card: the family's language on the front, English on the back."""
    number = hotline_number()
    sides: list[dict[str, Any]] = []
    for code in (language, "en"):
        sides.append(
            {
                "language": code,
                "rtl": code in RIGHT_TO_LEFT,
                "text": card_text(code),
                "unreviewed": code not in REVIEWED_CARD_LANGUAGES,
            }
        )
    context = {
        "sides": sides,
        "attorney_name": plan.attorney_name,
        "attorney_phone": plan.attorney_phone,
        "hotline": number,
        "qr": qr_svg_data_uri(hotline_uri(number)) if number else "",
    }
    return _pdf(render_to_string("preparedness/print/card.html", context))


def packet_language(plan: Plan) -> str:
    supported = {code for code, _name in settings.LANGUAGES}
    return plan.account.language if plan.account.language in supported else settings.LANGUAGE_CODE


def packet_context(plan: Plan) -> dict[str, Any]:
    """What the caregiver's packet shows; immigration details only if the family chose."""
    with_immigration = plan.packet_includes_immigration
    documents = [
        item
        for item in plan.documents.order_by("id")
        if (item.have or item.where_kept)
        and (with_immigration or item.kind not in IMMIGRATION_DOCUMENTS)
    ]
    return {
        "plan": plan,
        "family_name": plan.account.display_name,
        "reference": format_reference(plan.reference),
        "children": list(plan.members.filter(is_child=True)),
        "adults": list(plan.members.filter(is_child=False)),
        "contacts": list(plan.contacts.all()),
        "documents": documents,
        "with_immigration": with_immigration,
        "hotline": hotline_number(),
    }


def render_packet(plan: Plan) -> bytes:
    with translation.override(packet_language(plan)):
        html = render_to_string("preparedness/print/packet.html", packet_context(plan))
    return _pdf(html)
