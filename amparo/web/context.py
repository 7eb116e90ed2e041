from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils import translation


def site(request: HttpRequest) -> dict[str, Any]:
    language = translation.get_language() or settings.LANGUAGE_CODE
    from amparo.preparedness.alerts import hotline_number, hotline_uri
    from amparo.web.navigation import links_for
    from amparo.web.policy import has_completed_mfa

    number = hotline_number()
    role = str(getattr(request.user, "role", ""))
    menu = links_for(role, menu_only=True) if has_completed_mfa(request) else []
    return {
        "menu_links": menu,
        "network_name": settings.NETWORK_NAME,
        "hotline_number": number,
        "hotline_uri": hotline_uri(number),
        "languages": settings.LANGUAGES,
        "language_unreviewed": language in settings.UNREVIEWED_LANGUAGES,
        "language_bidi": translation.get_language_bidi(),
    }
