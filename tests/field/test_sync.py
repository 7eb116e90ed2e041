from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from amparo.custody.evidence import evidence_store
from amparo.field import sync
from amparo.field.models import Attachment, DeviceToken, Report, UploadChunk
from tests.field.conftest import Event
from tests.field.factories import report_payload, signed_in_client

pytestmark = pytest.mark.django_db


class Phone:
    """The capture app's side of the protocol, spoken over Django's test client."""

    def __init__(self, token: str) -> None:
        self.client = Client(headers={"Authorization": f"Bearer {token}"})

    def post(self, name: str, body: dict[str, Any], **kwargs: str):
        return self.client.post(
            reverse(name, kwargs=kwargs),
            json.dumps(body),
            content_type="application/json",
        )

    def chunk(self, file_id: str, offset: int, data: bytes, sha: str | None = None):
        return self.client.put(
            reverse("field:api_chunk", kwargs={"file_id": file_id, "offset": offset}),
            data,
            content_type="application/octet-stream",
            HTTP_X_CHUNK_SHA256=sha or hashlib.sha256(data).hexdigest(),
        )


@pytest.fixture
def phone(event: Event) -> Phone:
    return Phone(sync.issue_device_token(event.alice, "Alice's phone"))


def _file(report_id: str, data: bytes, file_id: str | None = None) -> dict[str, Any]:
    return {
        "report_id": report_id,
        "file_id": file_id or str(uuid.uuid4()),
        "sha256": hashlib.sha256(data).hexdigest(),
        "size": len(data),
        "filename": "clip.mp4",
        "capture_metadata": {"device_time": "2026-05-01T14:03:00Z", "location": "5th and Main"},
    }


VIDEO = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40


def test_only_a_hash_of_the_device_token_is_stored(event: Event) -> None:
    token = sync.issue_device_token(event.alice, "phone")
    stored = DeviceToken.objects.get()
    assert token not in stored.token_hash
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()


def test_without_a_live_token_the_api_answers_401(event: Event, phone: Phone) -> None:
    assert (
        Client()
        .post(reverse("field:api_reports"), "{}", content_type="application/json")
        .status_code
        == 401
    )
    sync.revoke_device(DeviceToken.objects.get(), event.coordinator)
    assert phone.post("field:api_reports", report_payload()).status_code == 401


def test_a_coordinator_revokes_a_phone_from_the_devices_page(event: Event, phone: Phone) -> None:
    device = DeviceToken.objects.get()
    signed_in_client(event.coordinator).post(reverse("field:revoke_device", args=[device.pk]))
    assert phone.post("field:api_reports", report_payload()).status_code == 401


def test_a_report_sent_twice_exists_once(event: Event, phone: Phone) -> None:
    payload = report_payload(deployment=event.deployment.pk)
    first = phone.post("field:api_reports", payload)
    second = phone.post("field:api_reports", payload)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["receipt"] == second.json()["receipt"]
    assert Report.objects.count() == 1


def test_chunked_upload_verifies_each_chunk_resumes_and_confirms_once(
    event: Event, phone: Phone
) -> None:
    payload = report_payload(deployment=event.deployment.pk)
    phone.post("field:api_reports", payload)
    described = _file(payload["client_id"], VIDEO)
    state = phone.post("field:api_uploads", described).json()
    assert state == {
        "file_id": described["file_id"],
        "received_bytes": 0,
        "size": len(VIDEO),
        "confirmed": False,
    }
    file_id = described["file_id"]
    half = 4096
    bad = phone.chunk(file_id, 0, VIDEO[:half], sha="0" * 64)
    assert bad.status_code == 422
    assert "does not match its SHA-256" in bad.json()["message"]
    assert phone.chunk(file_id, 0, VIDEO[:half]).json()["received_bytes"] == half
    # A repeat of a confirmed chunk changes nothing; a gap is refused with where to resume.
    assert phone.chunk(file_id, 0, VIDEO[:half]).json()["received_bytes"] == half
    gap = phone.chunk(file_id, half + 10, VIDEO[half + 10 :])
    assert (gap.status_code, gap.json()["received_bytes"]) == (409, half)
    # The connection "dropped": the phone asks where to resume.
    resumed = phone.post("field:api_uploads", described).json()
    assert resumed["received_bytes"] == half
    done = phone.chunk(file_id, half, VIDEO[half:]).json()
    assert done["confirmed"] is True
    attachment = Attachment.objects.get()
    assert attachment.sha256 == hashlib.sha256(VIDEO).hexdigest()
    assert attachment.media_type == "video/mp4"
    assert attachment.capture_metadata["location"] == "5th and Main"
    assert done["receipt"]["item_id"] == attachment.item_id
    assert (
        done["receipt"]["custody_entry"]
        in evidence_store().item(attachment.item_id).custody_entries
    )
    # Sending it all again changes nothing.
    again = phone.post("field:api_uploads", described).json()
    assert again["receipt"] == done["receipt"]
    assert phone.chunk(file_id, 0, VIDEO[:half]).json()["confirmed"] is True
    assert Attachment.objects.count() == 1
    assert UploadChunk.objects.count() == 2


def test_a_file_that_does_not_match_its_capture_hash_is_discarded(
    event: Event, phone: Phone
) -> None:
    payload = report_payload(deployment=event.deployment.pk)
    phone.post("field:api_reports", payload)
    described = _file(payload["client_id"], VIDEO)
    described["sha256"] = hashlib.sha256(b"something else").hexdigest()
    phone.post("field:api_uploads", described)
    answer = phone.chunk(described["file_id"], 0, VIDEO)
    assert answer.status_code == 422
    assert "does not match the SHA-256 taken on the phone" in answer.json()["message"]
    assert not Attachment.objects.exists()
    assert (
        phone.client.get(
            reverse("field:api_upload", kwargs={"file_id": described["file_id"]})
        ).json()["received_bytes"]
        == 0
    )


def test_a_file_id_cannot_be_reused_for_other_bytes(event: Event, phone: Phone) -> None:
    payload = report_payload(deployment=event.deployment.pk)
    phone.post("field:api_reports", payload)
    described = _file(payload["client_id"], VIDEO)
    phone.post("field:api_uploads", described)
    other = _file(payload["client_id"], VIDEO + b"x", file_id=described["file_id"])
    assert phone.post("field:api_uploads", other).status_code == 409


def test_the_connect_page_gives_the_phone_a_token_once(event: Event) -> None:
    page = signed_in_client(event.alice).post(reverse("field:connect"), {"label": "Pixel"})
    assert page.status_code == 200
    token = page.content.split(b'data-token="')[1].split(b'"')[0].decode()
    assert sync.device_for_token(token) is not None
