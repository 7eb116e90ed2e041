"""The update messages a new network starts with, in English and Spanish.

They are installed unreviewed: a coordinator reads and marks each one reviewed before
it can be sent. Placeholders in braces are filled only with facts the caller consented to.
"""

from __future__ import annotations

from typing import Any, TypedDict


class TemplateText(TypedDict):
    reveals: str
    subject: str
    body: str


DEFAULT_TEMPLATES: dict[str, dict[str, TemplateText]] = {
    "located": {
        "en": {
            "reveals": "location",
            "subject": "News from {network}",
            "body": (
                "Hello {caller},\n\nThis is {network}. We found where {person} is held:\n"
                "{facility}\n{facility_address}\nPhone: {facility_phone}\n\n"
                "We will write again when there is news. Please do not reply with personal "
                "details; call the hotline if you need to talk to us."
            ),
        },
        "es": {
            "reveals": "location",
            "subject": "Noticias de {network}",
            "body": (
                "Hola {caller}:\n\nLe escribe {network}. Encontramos dónde está detenido/a "
                "{person}:\n{facility}\n{facility_address}\nTeléfono: {facility_phone}\n\n"
                "Le escribiremos de nuevo cuando haya noticias. Por favor, no responda con datos "
                "personales; llame a la línea de ayuda si necesita hablar con nosotros."
            ),
        },
    },
    "attorney_assigned": {
        "en": {
            "reveals": "attorney",
            "subject": "News from {network}",
            "body": (
                "Hello {caller},\n\nAn attorney has taken the case of {person}: {attorney}, "
                "{organization}. Phone: {attorney_phone}.\n\n{network}"
            ),
        },
        "es": {
            "reveals": "attorney",
            "subject": "Noticias de {network}",
            "body": (
                "Hola {caller}:\n\nUn/a abogado/a aceptó el caso de {person}: {attorney}, "
                "{organization}. Teléfono: {attorney_phone}.\n\n{network}"
            ),
        },
    },
    "hearing": {
        "en": {
            "reveals": "hearings",
            "subject": "News from {network}",
            "body": "Hello {caller},\n\n{person} has a hearing: {next_hearing}.\n\n{network}",
        },
        "es": {
            "reveals": "hearings",
            "subject": "Noticias de {network}",
            "body": "Hola {caller}:\n\n{person} tiene una audiencia: {next_hearing}.\n\n{network}",
        },
    },
    "status": {
        "en": {
            "reveals": "status",
            "subject": "News from {network}",
            "body": "Hello {caller},\n\nThe case of {person} is now: {status}.\n\n{network}",
        },
        "es": {
            "reveals": "status",
            "subject": "Noticias de {network}",
            "body": "Hola {caller}:\n\nEl caso de {person} está ahora: {status}.\n\n{network}",
        },
    },
}


def install_default_templates(template_model: Any) -> int:
    """Add any default template the network does not have yet; return how many were added.

    Takes the model so that the data migration can pass its historical version.
    """
    added = 0
    for key, languages in DEFAULT_TEMPLATES.items():
        for language, text in languages.items():
            _, created = template_model.objects.get_or_create(
                key=key, language=language, defaults=dict(text)
            )
            added += int(created)
    return added
