"""People, events and reports for field tests, built through the real services."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from amparo.accounts.models import User
from amparo.accounts.roles import Role
from amparo.custody.evidence import evidence_store
from amparo.field import services
from amparo.field.models import Attachment, Deployment, Report
from amparo.field.reports import create_report, parse_report
from amparo.web.policy import MFA_SESSION_KEY


def person(username: str, role: Role) -> User:
    return User.objects.create_user(username=username, role=role, display_name=username.title())


def signed_in_client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    session = client.session
    session[MFA_SESSION_KEY] = True
    session.save()
    return client


def certified_observer(username: str, coordinator: User) -> User:
    observer = person(username, Role.OBSERVER)
    services.set_coordinator_certified(observer, True, coordinator)
    return observer


def approved_deployment(coordinator: User, **overrides: Any) -> Deployment:
    fields: dict[str, Any] = {
        "event_name": "March for families",
        "contact_name": "Rosa",
        "contact_how": "rosa@example.org",
        "organization": "Families United",
        "starts_at": timezone.now() + timedelta(days=2),
        "ends_at": None,
        "place": "City hall steps",
        "expected_size": 300,
        "expectations": "A march to the courthouse.",
    }
    fields.update(overrides)
    deployment = services.request_deployment(services.DeploymentRequest(**fields))
    return services.decide(deployment, True, coordinator)


def report_payload(**overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "client_id": str(uuid.uuid4()),
        "device_created_at": "2026-05-01T14:00:00-04:00",
        "agency_types": ["local_police", "federal_immigration"],
        "in_charge_role": "Officer with a white shirt giving orders",
        "entries": [
            {"time": "14:02", "location": "5th and Main", "what": "Line of officers formed."}
        ],
        "orders": [
            {"time": "14:10", "words": "Disperse now", "audible": "partly", "times_given": 2}
        ],
        "detentions": [
            {
                "name": "Ana Perez",
                "name_consent": True,
                "time": "14:20",
                "place": "Main St",
                "conduct": "Calm, walking away",
                "charge": "failure to disperse",
                "vehicle": "white van",
            }
        ],
        "force": [
            {
                "what": "Pushed to the ground",
                "medical": "Medic called",
                "injury_photo_consent": True,
            }
        ],
        "witnesses": [{"name": "Luis", "contact": "555-0100", "filmed": True}],
        "narrative": "SECRET NARRATIVE: the officer in charge shouted.",
        "written_after_fact_at": None,
    }
    payload.update(overrides)
    return payload


def filed_report(observer: User, deployment: Deployment | None, **overrides: Any) -> Report:
    payload = report_payload(deployment=deployment.pk if deployment else None, **overrides)
    report, _created = create_report(observer, parse_report(payload))
    return report


def upload_through_page(
    observer: User, report: Report, name: str, data: bytes, media_type: str
) -> Attachment:
    """The observer adds a file to their report from its page; the attachment now kept."""
    signed_in_client(observer).post(
        reverse("field:upload_attachment", args=[report.pk]),
        {"file": SimpleUploadedFile(name, data, content_type=media_type)},
    )
    kept = report.attachments.order_by("pk").last()
    assert kept is not None, f"{name} was not kept"
    return kept


def stored_bytes(attachment: Attachment) -> bytes:
    """The attachment's original as the evidence store gives it back, hash checked."""
    with evidence_store().blobs.open(attachment.item_id, attachment.sha256) as reader:
        data: bytes = reader.read()
    return data
