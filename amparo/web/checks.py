"""Deployment checks of our own, run by `amparo check --deploy`."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def amparo_deploy_checks(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    errors: list[Error] = []
    csp = getattr(settings, "CONTENT_SECURITY_POLICY", "")
    if "script-src 'self'" not in csp or "unsafe-inline" in csp:
        errors.append(
            Error(
                "The Content Security Policy must allow only our own scripts, never inline ones.",
                id="amparo.E001",
            )
        )
    if "SecurityHeadersMiddleware" not in " ".join(settings.MIDDLEWARE):
        errors.append(
            Error("SecurityHeadersMiddleware must be installed to send the CSP.", id="amparo.E002")
        )
    if not settings.PASSWORD_HASHERS or "Argon2" not in settings.PASSWORD_HASHERS[0]:
        errors.append(Error("Argon2 must be the first password hasher.", id="amparo.E003"))
    if "amparo.web.policy.AccessPolicyMiddleware" not in settings.MIDDLEWARE:
        errors.append(
            Error(
                "AccessPolicyMiddleware enforces MFA and deny-by-default; it must be installed.",
                id="amparo.E004",
            )
        )
    idle = getattr(settings, "SESSION_IDLE_SECONDS", 0)
    absolute = getattr(settings, "SESSION_ABSOLUTE_SECONDS", 0)
    if not (0 < idle <= absolute <= 24 * 60 * 60):
        errors.append(
            Error(
                "Session idle time-out and absolute lifetime must be set: idle ≤ absolute ≤ 24h.",
                id="amparo.E005",
            )
        )
    if "amparo.accounts.middleware.SessionLifetimeMiddleware" not in settings.MIDDLEWARE:
        errors.append(
            Error(
                "SessionLifetimeMiddleware must be installed to end idle and old sessions.",
                id="amparo.E006",
            )
        )
    return errors
