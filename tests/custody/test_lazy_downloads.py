"""A download opens its stored original only when the first chunk is sent.

The three downloads of an original (a field attachment, a hotline case document, a family
vault document) log custody and audit when the response is built, then stream through
custody.streaming. A response that is built but never sent must leave no blob file open;
one that is sent must still match the SHA-256 on file.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.signals import request_finished
from django.db import close_old_connections
from django.urls import reverse

from amparo.accounts.roles import Role
from amparo.audit.models import AuditEvent
from amparo.custody.evidence import evidence_store
from amparo.custody.streaming import stream_original
from amparo.evidence.blobstore import IntegrityError
from amparo.evidence.custody import parse_custody_entry
from amparo.hotline import documents
from amparo.preparedness import vault
from tests.field.conftest import Event
from tests.field.factories import (
    filed_report,
    signed_in_client,
    stored_bytes,
    upload_through_page,
)
from tests.field.jpeg_samples import jpeg
from tests.hotline import factories as hotline
from tests.preparedness.conftest import make_family

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.7\n" + bytes(range(256)) * 2000 + b"\n%%EOF\n"


def open_blobs() -> list[str]:
    """The files under the evidence store's blobs/ that this process holds open."""
    root = str((evidence_store().directory / "blobs").resolve()) + os.sep
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(root):
            found.append(target)
    return found


def close_unsent(response: Any) -> None:
    """Close a response as the server would when its client went away, without letting the
    request_finished signal close the test's own database connection (as Django's test client
    does around its requests; on PostgreSQL that connection holds the test's transaction)."""
    request_finished.disconnect(close_old_connections)
    try:
        response.close()
    finally:
        request_finished.connect(close_old_connections)


def custody_events(item_id: str) -> list[str]:
    store = evidence_store()
    entries = store.item(item_id).custody_entries
    return [str(parse_custody_entry(store.log.entry(i))["event"]) for i in entries]


def check_page_download_is_lazy(
    client: Any, url: str, item_id: str, logged_as: str, original: bytes
) -> None:
    """A download page, asked twice: the first response is logged as it is built (custody
    entry `logged_as`), holds nothing open and is dropped unsent; the second streams lazily."""
    response: Any = client.get(url)
    assert response.status_code == 200
    assert custody_events(item_id)[-1] == logged_as
    assert open_blobs() == []
    close_unsent(response)
    assert open_blobs() == []
    again: Any = client.get(url)
    check_lazy(iter(again.streaming_content), original)
    assert custody_events(item_id).count(logged_as) >= 2


def check_lazy(chunks: Iterator[bytes], original: bytes) -> None:
    """Nothing open before the first chunk, open while streaming, closed at the end."""
    assert open_blobs() == []
    first = next(chunks)
    assert len(open_blobs()) == 1  # the check above can see an open blob
    body = first + b"".join(chunks)
    assert open_blobs() == []
    assert hashlib.sha256(body).hexdigest() == hashlib.sha256(original).hexdigest()


def test_the_helper_opens_nothing_until_read_and_closes_when_the_stream_is_closed() -> None:
    item = evidence_store().ingest(
        io.BytesIO(PDF),
        filename="a.pdf",
        media_type="application/pdf",
        actor_role="system",
        actor_id="amparo",
    )
    unread = stream_original(item.id, item.sha256, 4096)
    assert open_blobs() == []
    del unread
    check_lazy(stream_original(item.id, item.sha256, 4096), PDF)
    # Closed half way (a client that went away): the file is closed with the generator.
    partly = stream_original(item.id, item.sha256, 4096)
    next(partly)
    assert len(open_blobs()) == 1
    partly.close()  # type: ignore[attr-defined]
    assert open_blobs() == []
    # A wrong hash on file is still caught at the end of the stream.
    with pytest.raises(IntegrityError):
        b"".join(stream_original(item.id, "0" * 64, 4096))
    assert open_blobs() == []


def test_a_field_attachment_download_never_sent_leaves_no_file_open(event: Event) -> None:
    report = filed_report(event.alice, event.deployment)
    photo = jpeg(with_gps=True)
    attachment = upload_through_page(event.alice, report, "scene.jpg", photo, "image/jpeg")
    url = reverse("field:download", args=[attachment.pk])
    lawyer = signed_in_client(event.lawyer)
    check_page_download_is_lazy(lawyer, url, attachment.item_id, "downloaded", photo)
    assert custody_events(attachment.item_id).count("downloaded") == 2
    assert (
        AuditEvent.objects.filter(actor=event.lawyer, action="field.attachment.downloaded").count()
        == 2
    )


def test_a_case_document_download_never_sent_leaves_no_file_open() -> None:
    case = hotline.intake().case
    volunteer = hotline.person("vera", Role.HOTLINE)
    document = documents.add_document(
        case, volunteer, io.BytesIO(PDF), filename="nta.pdf", size=len(PDF), kind="other"
    )
    client = hotline.signed_in(volunteer)
    url = reverse("hotline:case_document", args=[case.pk, document.pk])
    check_page_download_is_lazy(client, url, document.item_id, "downloaded", PDF)
    assert AuditEvent.objects.filter(action="hotline.document.downloaded").count() == 2


def test_a_vault_download_never_read_leaves_no_file_open() -> None:
    plan = make_family().plan
    document = vault.store_document(plan, io.BytesIO(PDF), filename="acta.pdf", size=len(PDF))
    unread = vault.read_document(document, actor_role="family", actor_id="family:1")
    assert custody_events(document.item_id) == ["ingested", "downloaded"]
    assert AuditEvent.objects.filter(action="family.vault_downloaded").count() == 1
    assert open_blobs() == []
    del unread
    check_lazy(vault.read_document(document, actor_role="family", actor_id="family:1"), PDF)


def test_open_blobs_sees_a_file_opened_in_the_blobs_directory() -> None:
    # The probe itself can fail: a handle on a blob file is reported.
    item = evidence_store().ingest(
        io.BytesIO(PDF),
        filename="a.pdf",
        media_type="application/pdf",
        actor_role="system",
        actor_id="amparo",
    )
    with evidence_store().blobs.open(item.id, item.sha256):
        assert len(open_blobs()) == 1
    assert open_blobs() == []


def test_a_working_copy_preview_never_sent_leaves_no_file_open(event: Event) -> None:
    report = filed_report(event.alice, event.deployment)
    original = upload_through_page(event.alice, report, "scene.jpg", jpeg(), "image/jpeg")
    lawyer = signed_in_client(event.lawyer)
    lawyer.post(reverse("field:working_copy", args=[original.pk]), {"keep_faces": "on"})
    copy = report.attachments.exclude(pk=original.pk).get()
    stored = stored_bytes(copy)
    url = reverse("field:working_copy_preview", args=[copy.pk])
    check_page_download_is_lazy(lawyer, url, copy.item_id, "viewed", stored)
    assert AuditEvent.objects.filter(action="field.working_copy.previewed").count() == 2
