from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from amparo.audit.models import AuditEvent
from amparo.custody.evidence import evidence_store
from amparo.evidence.custody import parse_custody_entry
from amparo.field import models
from amparo.field.models import Attachment, Report
from amparo.field.reports import ReportConflict, ReportError, create_report, parse_report
from tests.field.conftest import Event
from tests.field.factories import filed_report, report_payload, signed_in_client
from tests.field.jpeg_samples import jpeg

pytestmark = pytest.mark.django_db

NARRATIVE = b"SECRET NARRATIVE"
OFFICER_IDENTITY_WORDS = ("badge", "plate", "officer_name", "license")


def test_no_model_has_an_officer_identity_field() -> None:
    for model in (
        models.Report,
        models.Entry,
        models.DispersalOrder,
        models.Detention,
        models.ForceIncident,
        models.Witness,
        models.Attachment,
    ):
        for field in model._meta.get_fields():
            assert not any(word in field.name for word in OFFICER_IDENTITY_WORDS), field


def test_a_report_holds_every_part_and_its_pair_are_authors(event: Event) -> None:
    report = filed_report(event.alice, event.deployment)
    assert set(report.authors.all()) == {event.alice, event.bob}
    assert report.entries.get().location == "5th and Main"
    assert report.orders.get().times_given == 2
    assert report.detentions.get().person_name == "Ana Perez"
    assert report.force.get().injury_photo_consent
    assert report.witnesses.get().filmed
    assert report.agency_types == ["local_police", "federal_immigration"]
    item = evidence_store().item(report.item_id)
    assert item.media_type == "application/json"


def test_a_detained_persons_name_is_dropped_without_their_consent(event: Event) -> None:
    detentions = [{"name": "Juan", "name_consent": False, "place": "corner"}]
    report = filed_report(event.alice, event.deployment, detentions=detentions)
    assert report.detentions.get().person_name == ""


def test_the_same_report_id_sent_twice_is_one_report(event: Event) -> None:
    payload = report_payload(deployment=event.deployment.pk)
    first, created = create_report(event.alice, parse_report(payload))
    again, created_again = create_report(event.alice, parse_report(payload))
    assert (created, created_again) == (True, False)
    assert first.pk == again.pk
    assert Report.objects.count() == 1
    with pytest.raises(ReportConflict):
        create_report(event.carol, parse_report(payload))


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"agency_types": ["cia"]}, "Agency types"),
        ({"entries": [{"time": "25:99", "what": "x"}]}, "clock time"),
        ({"client_id": "nope"}, "valid id"),
    ],
)
def test_bad_reports_are_refused_with_a_reason(event: Event, change, complaint) -> None:
    with pytest.raises(ReportError, match=complaint):
        parse_report(report_payload(**change))


def test_an_observer_not_on_the_roster_cannot_file_for_the_event(event: Event) -> None:
    from tests.field.factories import certified_observer

    stranger = certified_observer("sam", event.coordinator)
    with pytest.raises(ReportError, match="roster"):
        filed_report(stranger, event.deployment)


def _refusal_count() -> int:
    return AuditEvent.objects.filter(allowed=False).count()


def test_narrative_is_for_authors_and_legal_team_only_and_refusals_are_audited(
    event: Event,
) -> None:
    report = filed_report(event.alice, event.deployment)
    attachment = _attach(event, report)
    readers = [event.alice, event.bob, event.lawyer]
    for reader in readers:
        page = signed_in_client(reader).get(reverse("field:report", args=[report.pk]))
        assert page.status_code == 200
        assert NARRATIVE in page.content
        assert b"Attorney work product" in page.content
    for outsider in (event.carol, event.outsider, event.coordinator, event.hotline):
        client = signed_in_client(outsider)
        for url in (
            reverse("field:report", args=[report.pk]),
            reverse("field:download", args=[attachment.pk]),
        ):
            before = _refusal_count()
            response = client.get(url)
            assert response.status_code == 403, (outsider.username, url)
            assert NARRATIVE not in response.content
            assert _refusal_count() == before + 1
        for url in (
            reverse("field:export_report", args=[report.pk]),
            reverse("field:working_copy", args=[attachment.pk]),
        ):
            before = _refusal_count()
            assert client.post(url).status_code == 403
            assert _refusal_count() == before + 1


def test_coordinator_sees_only_that_a_report_exists(event: Event) -> None:
    report = filed_report(event.alice, event.deployment)
    listing = signed_in_client(event.coordinator).get(reverse("field:reports"))
    assert f"Report {report.pk}".encode() in listing.content
    assert NARRATIVE not in listing.content


def _attach(event: Event, report: Report) -> Attachment:
    photo = SimpleUploadedFile("scene.jpg", jpeg(with_gps=True), content_type="image/jpeg")
    signed_in_client(event.alice).post(
        reverse("field:upload_attachment", args=[report.pk]), {"file": photo}
    )
    return report.attachments.get()


def test_every_view_and_download_is_a_custody_entry_and_an_audit_event(event: Event) -> None:
    report = filed_report(event.alice, event.deployment)
    attachment = _attach(event, report)
    store = evidence_store()
    before_report = len(store.item(report.item_id).custody_entries)
    before_file = len(store.item(attachment.item_id).custody_entries)
    lawyer = signed_in_client(event.lawyer)
    lawyer.get(reverse("field:report", args=[report.pk]))
    download = lawyer.get(reverse("field:download", args=[attachment.pk]))
    assert download.getvalue() == jpeg(with_gps=True)
    report_entries = store.item(report.item_id).custody_entries
    file_entries = store.item(attachment.item_id).custody_entries
    assert len(report_entries) == before_report + 1
    assert len(file_entries) == before_file + 1
    viewed = parse_custody_entry(store.log.entry(report_entries[-1]))
    downloaded = parse_custody_entry(store.log.entry(file_entries[-1]))
    assert (viewed["event"], viewed["actor_id"]) == ("viewed", f"user:{event.lawyer.pk}")
    assert downloaded["event"] == "downloaded"
    actions = set(AuditEvent.objects.filter(actor=event.lawyer).values_list("action", flat=True))
    assert {"field.report.viewed", "field.attachment.downloaded"} <= actions


def test_uploads_are_typed_by_content_not_by_name(event: Event) -> None:
    report = filed_report(event.alice, event.deployment)
    fake = SimpleUploadedFile(
        "photo.jpg", b"#!/bin/sh\necho not a photo\n", content_type="image/jpeg"
    )
    response = signed_in_client(event.alice).post(
        reverse("field:upload_attachment", args=[report.pk]), {"file": fake}, follow=True
    )
    assert b"photo.jpg is not a kind of file we accept" in response.content
    assert not report.attachments.exists()


def test_an_injury_photo_needs_the_injured_persons_consent(event: Event) -> None:
    report = filed_report(
        event.alice, event.deployment, force=[{"what": "hit", "injury_photo_consent": False}]
    )
    photo = SimpleUploadedFile("injury.jpg", jpeg(), content_type="image/jpeg")
    response = signed_in_client(event.alice).post(
        reverse("field:upload_attachment", args=[report.pk]),
        {"file": photo, "shows_injury": "on"},
        follow=True,
    )
    assert b"consent" in response.content
    assert not report.attachments.exists()


def test_an_arrest_offers_a_hotline_intake_prefilled_from_the_report(event: Event) -> None:
    from amparo.field.services import hotline_intake_prefill

    report = filed_report(event.alice, event.deployment)
    detention = report.detentions.get()
    prefill = hotline_intake_prefill(detention)
    assert prefill["legal_name"] == "Ana Perez"
    assert prefill["encounter_place"] == "Main St"
    page = signed_in_client(event.lawyer).get(reverse("field:report", args=[report.pk]))
    assert b"Open a hotline intake" in page.content
    signed_in_client(event.lawyer).post(reverse("field:hotline_intake", args=[detention.pk]))
    detention.refresh_from_db()
    from amparo.hotline.models import Case

    assert detention.hotline_case_id is not None
    assert Case.objects.get(pk=detention.hotline_case_id).legal_name == "Ana Perez"


def test_attachment_size_limit_is_enforced(event: Event, settings) -> None:
    from amparo.field.reports import AttachmentRejected, add_attachment

    settings.FIELD_MAX_ATTACHMENT_BYTES = 10
    report = filed_report(event.alice, event.deployment)
    data = jpeg()
    with pytest.raises(AttachmentRejected, match="larger than the limit"):
        add_attachment(report, event.alice, io.BytesIO(data), filename="big.jpg", size=len(data))
