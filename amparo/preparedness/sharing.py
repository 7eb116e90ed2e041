"""Read-only links to a plan for a caregiver: opaque, stored hashed, expiring, revocable."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from amparo.audit.services import record
from amparo.preparedness.models import Plan, ShareLink
from amparo.preparedness.services import plan_target

DEFAULT_LIFETIME = timedelta(days=30)
MAX_LIFETIME = timedelta(days=365)


def hash_share_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedLink:
    """A link and its token; the token exists only here, never in the database."""

    link: ShareLink
    token: str

    @property
    def url(self) -> str:
        return settings.SITE_URL + reverse("preparedness:shared_entry", args=[self.token])


def create_share_link(plan: Plan, label: str, lifetime: timedelta = DEFAULT_LIFETIME) -> IssuedLink:
    lifetime = min(max(lifetime, timedelta(hours=1)), MAX_LIFETIME)
    token = secrets.token_urlsafe(32)
    link = ShareLink.objects.create(
        plan=plan,
        token_hash=hash_share_token(token),
        label=label.strip()[:100],
        expires_at=timezone.now() + lifetime,
    )
    record(None, "family.share_link_created", target=plan_target(plan), detail=f"link:{link.pk}")
    return IssuedLink(link, token)


def revoke_share_link(plan: Plan, link_id: int) -> bool:
    revoked = ShareLink.objects.filter(plan=plan, pk=link_id, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    if revoked:
        record(
            None, "family.share_link_revoked", target=plan_target(plan), detail=f"link:{link_id}"
        )
    return revoked == 1


def open_share_link(token_hash: str) -> ShareLink | None:
    """The link for this token hash if it is still open; every refusal is audited."""
    link = ShareLink.objects.filter(token_hash=token_hash).select_related("plan").first()
    if link is None:
        record(None, "family.shared_plan_refused", target="share", allowed=False, detail="unknown")
        return None
    if not link.is_open():
        why = "revoked" if link.revoked_at else "expired"
        record(
            None,
            "family.shared_plan_refused",
            target=plan_target(link.plan),
            allowed=False,
            detail=f"link:{link.pk} {why}",
        )
        return None
    return link


def record_shared_view(link: ShareLink, what: str) -> None:
    record(
        None,
        "family.shared_plan_viewed",
        target=plan_target(link.plan),
        detail=f"link:{link.pk} {what}",
    )
