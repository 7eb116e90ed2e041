from __future__ import annotations

import hashlib
import io

import pytest
from django.test import override_settings

from amparo.audit.models import AuditEvent
from amparo.custody.evidence import evidence_store
from amparo.evidence.custody import CustodyEvent
from amparo.preparedness.vault import VaultRefusal, read_document, store_document
from tests.preparedness.conftest import make_family

pytestmark = pytest.mark.django_db

BIRTH_CERTIFICATE = b"%PDF-1.4\n" + bytes(range(256)) * 300 + b"\n%%EOF\n"


def test_a_downloaded_document_has_the_hash_of_the_original_and_leaves_custody_events():
    plan = make_family().plan
    document = store_document(
        plan,
        io.BytesIO(BIRTH_CERTIFICATE),
        filename="acta.pdf",
        size=len(BIRTH_CERTIFICATE),
        kind="birth_certificate",
    )
    assert document.sha256 == hashlib.sha256(BIRTH_CERTIFICATE).hexdigest()
    blobs = [p for p in (evidence_store().directory / "blobs").rglob("*") if p.is_file()]
    assert blobs
    assert all(BIRTH_CERTIFICATE[9:200] not in p.read_bytes() for p in blobs)

    downloaded = b"".join(read_document(document, actor_role="family", actor_id="family:1"))

    assert hashlib.sha256(downloaded).hexdigest() == document.sha256
    item = evidence_store().item(document.item_id)
    events = [evidence_store().log.entry(i) for i in item.custody_entries]
    assert len(events) == 2
    assert CustodyEvent.DOWNLOADED.value.encode() in events[1]
    assert AuditEvent.objects.filter(action="family.vault_downloaded").count() == 1


def test_a_file_of_another_type_is_refused_by_its_content_not_its_name():
    plan = make_family().plan
    with pytest.raises(VaultRefusal) as refused:
        store_document(plan, io.BytesIO(b"MZ\x90\x00 not a pdf"), filename="scan.pdf", size=17)
    assert "scan.pdf" in refused.value.message
    assert "PDF, JPEG" in refused.value.message
    assert plan.vault.count() == 0


@override_settings(AMPARO_VAULT_MAX_BYTES=1024)
def test_a_file_over_the_limit_is_refused_and_nothing_is_kept():
    plan = make_family().plan
    with pytest.raises(VaultRefusal) as refused:
        store_document(
            plan, io.BytesIO(BIRTH_CERTIFICATE), filename="big.pdf", size=len(BIRTH_CERTIFICATE)
        )
    assert "big.pdf" in refused.value.message
    # A size that lies is still caught by the store's own limit while the bytes stream in.
    with pytest.raises(VaultRefusal):
        store_document(plan, io.BytesIO(BIRTH_CERTIFICATE), filename="liar.pdf", size=10)
    assert plan.vault.count() == 0
    assert evidence_store().items() == []
