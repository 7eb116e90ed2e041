"""Deployment checks of our own, run by `amparo check --deploy`.

Besides settings, they walk every URL and name any view that declares no access policy.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, register
from django.urls import URLPattern, URLResolver, get_resolver

from amparo.web.policy import policy_of

SAFE_REFERRER_POLICIES = frozenset({"same-origin", "strict-origin"})


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
    if settings.SECURE_REFERRER_POLICY not in SAFE_REFERRER_POLICIES:
        errors.append(
            Error(
                f"SECURE_REFERRER_POLICY is {settings.SECURE_REFERRER_POLICY!r}; it must be one of "
                + ", ".join(sorted(SAFE_REFERRER_POLICIES))
                + ". 'no-referrer' makes browsers send `Origin: null` on form posts, which "
                "CSRF protection refuses; looser policies tell other sites which page linked them.",
                id="amparo.E009",
            )
        )
    errors.extend(private_files_errors())
    return errors


def private_files_errors() -> list[Error]:
    """The data directory and the secret key file must be readable by Amparo's user alone."""
    errors: list[Error] = []
    candidates = [settings.DATA_DIR]
    if not os.environ.get("AMPARO_SECRET_KEY"):
        candidates.append(settings.DATA_DIR / "secret_key")
    for path in candidates:
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            continue
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            errors.append(
                Error(
                    f"{path} can be read or written by other users (mode {stat.filemode(mode)}).",
                    hint=f"chmod go= {path}",
                    id="amparo.E010",
                )
            )
    return errors


@dataclass(frozen=True)
class Route:
    """One URL pattern, prefixes included, with the view that answers it."""

    pattern: str
    name: str
    view: Callable[..., Any]
    converters: Mapping[str, Any]

    def __str__(self) -> str:
        return f"/{self.pattern} ({self.name or 'unnamed'})"


def iter_routes(resolver: URLResolver | None = None) -> Iterator[Route]:
    """Every URL pattern reachable from the resolver, following includes."""
    yield from _walk(resolver or get_resolver(), prefix="", namespace="", converters={})


def _walk(
    resolver: URLResolver, prefix: str, namespace: str, converters: Mapping[str, Any]
) -> Iterator[Route]:
    for entry in resolver.url_patterns:
        pattern = prefix + _pattern_text(entry.pattern)
        found = {**converters, **getattr(entry.pattern, "converters", {})}
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _walk(entry, pattern, inner, found)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}{entry.name}" if entry.name else ""
            yield Route(pattern=pattern, name=name, view=entry.callback, converters=found)


def _pattern_text(pattern: Any) -> str:
    # Regex patterns carry anchors that mean nothing once prefixes are joined.
    return str(pattern).removeprefix("^").removesuffix("$")


def routes_without_policy(resolver: URLResolver | None = None) -> list[Route]:
    """Routes whose view declares no access policy; the middleware refuses them all."""
    return [route for route in iter_routes(resolver) if policy_of(route.view) is None]


@register(Tags.security, deploy=True)
def access_policy_check(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    return [
        Error(
            f"The view for {route} declares no access policy, so every request to it is refused.",
            hint="Decorate it with public, mfa_pending, signed_in or roles(...) "
            "from amparo.web.policy.",
            id="amparo.E007",
        )
        for route in routes_without_policy()
    ]


@register(Tags.translation, deploy=True)
def compiled_translations_check(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    # Without a compiled catalog a language silently falls back to English.
    errors: list[Error] = []
    for code, _name in settings.LANGUAGES:
        if code == settings.LANGUAGE_CODE:
            continue
        catalogs = [
            Path(base) / code / "LC_MESSAGES" / "django.mo" for base in settings.LOCALE_PATHS
        ]
        if not any(catalog.is_file() for catalog in catalogs):
            errors.append(
                Error(
                    f"The '{code}' translation is not compiled: no django.mo in "
                    + ", ".join(str(catalog.parent) for catalog in catalogs),
                    hint="Run `cd amparo && amparo compilemessages`.",
                    id="amparo.E008",
                )
            )
    return errors
