"""Rate limit for the public form: one token bucket per form, kept in the database.

Why a per-form bucket and not one per address: the public intake promises to keep no IP
address, and even an HMAC of an address is a record that a given household asked for help.
A shared bucket holds nothing about anyone. Its cost is that a flood slows everyone; the
429 page then gives the hotline's phone number, and the burst is sized well above what real
families send. Being in the database, the bucket holds across every server process.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from amparo.hotline.models import IntakeBucket


@dataclass(frozen=True)
class BucketShape:
    capacity: float
    refill_per_second: float


def public_form_bucket() -> BucketShape:
    def setting(name: str, default: float) -> float:
        configured = getattr(settings, name, None)
        if configured is None:
            configured = os.environ.get("AMPARO_" + name, "") or default
        return float(configured)

    return BucketShape(
        capacity=setting("INTAKE_BURST", 30.0),
        refill_per_second=setting("INTAKE_PER_SECOND", 2.0),
    )


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after_seconds: int = 0


def take_token(name: str, shape: BucketShape, now: datetime | None = None) -> Verdict:
    """Take one token from the named bucket, or say how long until one is free."""
    now = now or timezone.now()
    with transaction.atomic():
        bucket = IntakeBucket.objects.select_for_update().filter(name=name).first()
        if bucket is None:
            bucket = IntakeBucket(name=name, tokens=shape.capacity, updated_at=now)
        elapsed = max((now - bucket.updated_at).total_seconds(), 0.0)
        tokens = min(shape.capacity, bucket.tokens + elapsed * shape.refill_per_second)
        if tokens >= 1.0:
            bucket.tokens = tokens - 1.0
            bucket.updated_at = now
            bucket.save()
            return Verdict(allowed=True)
        bucket.tokens = tokens
        bucket.updated_at = now
        bucket.save()
    wait = (1.0 - tokens) / shape.refill_per_second if shape.refill_per_second > 0 else 3600
    return Verdict(allowed=False, retry_after_seconds=max(1, math.ceil(wait)))
