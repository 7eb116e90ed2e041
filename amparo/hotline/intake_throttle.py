"""Rate limit for the public form: one token bucket per form, kept in the database.

Why a per-form bucket and not one per address: the public intake promises to keep no IP
address, and even an HMAC of an address is a record that a given household asked for help.
A shared bucket holds nothing about anyone. Its cost is that a flood slows everyone; the
429 page then gives the hotline's phone number, and the burst is sized well above what real
families send. Being in the database, the bucket holds across every server process.

Each process also remembers, in memory, until when the database bucket said it would be
empty. Tokens only come back with time and other processes only take them, so no token can
exist before that moment: until then a flood is answered 429 without touching the database,
which keeps the writer free for the intakes the bucket does admit and for staff pages.
"""

from __future__ import annotations

import math
import os
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.db import connection, transaction
from django.dispatch import receiver
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from amparo.hotline.models import IntakeBucket
from amparo.rows import insert


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


# (bucket name, shape) -> time.monotonic() before which the database bucket has no token.
_empty_until: dict[tuple[str, BucketShape], float] = {}
_empty_until_lock = threading.Lock()


def known_refusal(name: str, shape: BucketShape) -> Verdict | None:
    """A refusal this process can give without the database, or None if it must ask."""
    key = (name, shape)
    with _empty_until_lock:
        until = _empty_until.get(key)
        if until is None:
            return None
        left = until - time.monotonic()
        if left <= 0:
            del _empty_until[key]
            return None
    return Verdict(allowed=False, retry_after_seconds=max(1, math.ceil(left)))


def forget_refusals() -> None:
    """Drop what this process remembers, e.g. when the bucket's shape is reconfigured."""
    with _empty_until_lock:
        _empty_until.clear()


@receiver(setting_changed)
def _shape_changed(*, setting: str, **kwargs: Any) -> None:
    if setting in {"INTAKE_BURST", "INTAKE_PER_SECOND"}:
        forget_refusals()


def take_token(name: str, shape: BucketShape, now: datetime | None = None) -> Verdict:
    """Take one token from the named bucket, or say how long until one is free.

    Called inside the caller's write transaction, the token commits (or rolls back) with
    whatever the caller stores. A refusal writes nothing.
    """
    (verdict,) = take_tokens(name, shape, 1, now)
    return verdict


def take_tokens(
    name: str, shape: BucketShape, count: int, now: datetime | None = None
) -> list[Verdict]:
    """One verdict for each of `count` submissions that arrived together, in their order:
    as many as the bucket holds tokens for are allowed, the rest are told how long to wait.
    The bucket is read and written once, whatever the count."""
    remember = now is None
    if remember:
        known = known_refusal(name, shape)
        if known is not None:
            return [known] * count
    now = now or timezone.now()
    # No savepoint of its own: if the caller's work fails, the tokens go back with it.
    with transaction.atomic(savepoint=False):
        stored = _read_bucket(name)
        held, updated_at = stored if stored else (shape.capacity, now)
        elapsed = max((now - updated_at).total_seconds(), 0.0)
        tokens = min(shape.capacity, held + elapsed * shape.refill_per_second)
        granted = min(count, max(int(tokens), 0))
        if granted:
            tokens -= granted
            if stored:
                _write_bucket(name, tokens, now)
            else:
                insert(IntakeBucket(name=name, tokens=tokens, updated_at=now))
    verdicts = [Verdict(allowed=True)] * granted
    if granted == count:
        return verdicts
    rate = shape.refill_per_second
    wait = (1.0 - tokens) / rate if rate > 0 else 3600.0
    if remember:
        with _empty_until_lock:
            _empty_until[(name, shape)] = time.monotonic() + wait
    refused = Verdict(allowed=False, retry_after_seconds=max(1, math.ceil(wait)))
    return verdicts + [refused] * (count - granted)


# The bucket is read and written on every submission, so in SQL written once rather than
# through the ORM, which spent longer building these two statements than SQLite running them.
_TABLE = IntakeBucket._meta.db_table
_UPDATED_AT = IntakeBucket._meta.get_field("updated_at")


def _read_bucket(name: str) -> tuple[float, datetime] | None:
    """The bucket's tokens and when they were counted, locked until the transaction ends
    where the database can lock a row (SQLite's write transaction already excludes others)."""
    sql = f"SELECT tokens, updated_at FROM {connection.ops.quote_name(_TABLE)} WHERE name = %s"  # noqa: S608
    if connection.features.has_select_for_update:
        sql += " FOR UPDATE"
    with connection.cursor() as cursor:
        cursor.execute(sql, [name])
        row = cursor.fetchone()
    if row is None:
        return None
    tokens, updated_at = row
    if isinstance(updated_at, str):  # SQLite hands back the stored text
        updated_at = parse_datetime(updated_at)
    if timezone.is_naive(updated_at):
        updated_at = timezone.make_aware(updated_at, UTC)
    return float(tokens), updated_at


def _write_bucket(name: str, tokens: float, at: datetime) -> None:
    sql = (
        f"UPDATE {connection.ops.quote_name(_TABLE)} SET tokens = %s, updated_at = %s "  # noqa: S608
        "WHERE name = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [tokens, _UPDATED_AT.get_db_prep_save(at, connection), name])
