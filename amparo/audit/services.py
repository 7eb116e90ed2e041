"""Writing audit events. Every refusal, sign-in and read of sensitive data calls `record`."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from amparo.audit.models import AuditEvent
from amparo.rows import insert


def record(
    request_or_user: HttpRequest | Any,
    action: str,
    *,
    target: str = "",
    allowed: bool = True,
    detail: str = "",
) -> AuditEvent:
    """Append one audit event. Takes a request (its user is the actor) or a user or None."""
    made = event(request_or_user, action, target=target, allowed=allowed, detail=detail)
    insert(made)
    return made


def event(
    request_or_user: HttpRequest | Any,
    action: str,
    *,
    target: str = "",
    allowed: bool = True,
    detail: str = "",
) -> AuditEvent:
    """The audit event `record` would append, not yet stored (to insert several at once)."""
    user = getattr(request_or_user, "user", request_or_user)
    actor: Any = user if getattr(user, "is_authenticated", False) else None
    return AuditEvent(
        actor=actor,
        actor_label=getattr(actor, "username", "") if actor else "",
        actor_role=getattr(actor, "role", "") if actor else "",
        action=action,
        target=target[:255],
        allowed=allowed,
        detail=detail,
    )
