from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils import translation


def site(request: HttpRequest) -> dict[str, Any]:
    language = translation.get_language() or settings.LANGUAGE_CODE
    return {
        "network_name": settings.NETWORK_NAME,
        "languages": settings.LANGUAGES,
        "language_unreviewed": language in settings.UNREVIEWED_LANGUAGES,
        "language_bidi": translation.get_language_bidi(),
    }
