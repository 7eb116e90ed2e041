"""The Django side of the evidence core: one lazily opened store per process, custody by users.

The store lives at settings.EVIDENCE_DIR. `amparo evidence-init` creates it; otherwise the
first use creates it, named by AMPARO_LOG_ORIGIN or "<site host>/log".
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from django.conf import settings

from amparo.evidence.custody import CustodyEvent, DetailValue
from amparo.evidence.store import EvidenceStore, Item, StoreError

_lock = threading.Lock()
_opened: dict[Path, EvidenceStore] = {}


def log_origin() -> str:
    """The log's origin line: AMPARO_LOG_ORIGIN, or the site's host followed by /log."""
    configured = getattr(settings, "AMPARO_LOG_ORIGIN", "")
    if configured:
        return str(configured)
    host = urlsplit(settings.SITE_URL).netloc or "localhost"
    return f"{host}/log"


def evidence_directory() -> Path:
    return Path(settings.EVIDENCE_DIR)


def create_store(origin: str | None = None) -> tuple[EvidenceStore, str]:
    """Create the store at EVIDENCE_DIR; return it and its log verifier key."""
    with _lock:
        directory = evidence_directory()
        store, vkey = EvidenceStore.init(directory, origin or log_origin())
        _opened[directory] = store
        return store, vkey


def evidence_store() -> EvidenceStore:
    """This process's store at EVIDENCE_DIR, opened on first use (and created if absent)."""
    directory = evidence_directory()
    with _lock:
        store = _opened.get(directory)
        if store is not None:
            return store
        if (directory / "store.json").exists():
            store = EvidenceStore.open(directory)
        else:
            try:
                store, _vkey = EvidenceStore.init(directory, log_origin())
            except StoreError:
                # Another process created it between our check and our init.
                store = EvidenceStore.open(directory)
        _opened[directory] = store
        return store


def actor_of(user: Any) -> tuple[str, str]:
    """The (role, id) a custody entry names for a Django user; never a name, only the id."""
    if user is None or not getattr(user, "is_authenticated", False):
        return "system", "amparo"
    return str(getattr(user, "role", "") or "staff"), f"user:{user.pk}"


def ingest_for(user: Any, stream: BinaryIO, *, filename: str, media_type: str) -> Item:
    """Ingest an original on behalf of a user; returns its catalogue record."""
    role, actor_id = actor_of(user)
    return evidence_store().ingest(
        stream, filename=filename, media_type=media_type, actor_role=role, actor_id=actor_id
    )


def record_custody(
    item_id: str,
    event: CustodyEvent | str,
    user: Any,
    details: dict[str, DetailValue] | None = None,
) -> int:
    """Append a custody event for an item on behalf of a user; return the log index."""
    role, actor_id = actor_of(user)
    return evidence_store().record(item_id, event, role, actor_id, details)


def forget_opened_stores() -> None:
    """Close every store this process opened (tests point EVIDENCE_DIR elsewhere)."""
    with _lock:
        for store in _opened.values():
            store.close()
        _opened.clear()
