from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.urls import reverse
from django.utils import timezone

from amparo.accounts.roles import Role
from amparo.audit.models import AuditEvent
from amparo.field import services
from amparo.field.models import AttendanceKind, Deployment, DeploymentStatus
from tests.field.conftest import Event
from tests.field.factories import person, signed_in_client

pytestmark = pytest.mark.django_db


def test_an_organizer_requests_observers_without_an_account_and_no_address_is_kept(client) -> None:
    starts = (timezone.now() + timedelta(days=5)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        reverse("field:request"),
        {
            "event_name": "Vigil",
            "organization": "Faith Coalition",
            "contact_name": "Marta",
            "contact_how": "555-0199",
            "starts_at": starts,
            "place": "Plaza",
            "expected_size": "80",
            "expectations": "Candles and songs",
        },
        REMOTE_ADDR="203.0.113.77",
        HTTP_USER_AGENT="Organizer-Browser/9.9",
    )
    assert response.status_code == 302
    deployment = Deployment.objects.get()
    assert deployment.status == DeploymentStatus.REQUESTED
    stored = " ".join(str(getattr(deployment, f.attname)) for f in Deployment._meta.fields)
    assert "203.0.113.77" not in stored
    assert "Organizer-Browser" not in stored
    assert not AuditEvent.objects.filter(detail__contains="203.0.113.77").exists()


def test_request_is_privileged_to_coordinators_and_the_events_legal_team(event: Event) -> None:
    url = reverse("field:deployment", args=[event.deployment.pk])
    assert signed_in_client(event.coordinator).get(url).status_code == 200
    page = signed_in_client(event.lawyer).get(url)
    assert page.status_code == 200
    assert b"rosa@example.org" in page.content
    before = AuditEvent.objects.filter(allowed=False).count()
    refused = signed_in_client(event.outsider).get(url)
    assert refused.status_code == 403
    assert b"rosa@example.org" not in refused.content
    assert AuditEvent.objects.filter(allowed=False).count() == before + 1
    assert signed_in_client(event.alice).get(url).status_code == 403
    listing = signed_in_client(event.outsider).get(reverse("field:deployments"))
    assert b"March for families" not in listing.content


def test_coordinator_declines_and_approves(event: Event) -> None:
    client = signed_in_client(event.coordinator)
    url = reverse("field:decide", args=[event.deployment.pk])
    client.post(url, {"decision": "decline", "note": "no capacity"})
    event.deployment.refresh_from_db()
    assert event.deployment.status == DeploymentStatus.DECLINED
    client.post(url, {"decision": "approve"})
    event.deployment.refresh_from_db()
    assert event.deployment.status == DeploymentStatus.APPROVED


def test_only_certified_observers_join_a_roster(event: Event) -> None:
    newcomer = person("nico", Role.OBSERVER)
    with pytest.raises(services.RosterError):
        services.assign_observer(event.deployment, newcomer, 3, "East")
    services.set_coordinator_certified(newcomer, True, event.coordinator)
    assert services.assign_observer(event.deployment, newcomer, 3, "East").post == "East"


def test_training_certification_also_makes_an_observer_eligible(event: Event) -> None:
    trained = person("tess", Role.OBSERVER)
    assert not services.is_eligible_observer(trained)
    with mock.patch("amparo.training.services.is_certified", return_value=True):
        assert services.is_eligible_observer(trained)


def test_only_attorneys_are_named_to_a_legal_team(event: Event) -> None:
    with pytest.raises(services.RosterError):
        services.set_legal_team(event.deployment, [event.hotline])


def test_check_in_again_and_sign_out_saying_whether_all_was_handed_in(event: Event) -> None:
    client = signed_in_client(event.alice)
    assignment = event.deployment.roster.get(observer=event.alice)
    url = reverse("field:attendance", args=[assignment.pk])
    client.post(url, {"kind": AttendanceKind.CHECK_IN})
    client.post(url, {"kind": AttendanceKind.CHECK_IN_AGAIN})
    client.post(url, {"kind": AttendanceKind.SIGN_OUT})  # refused: no answer
    client.post(url, {"kind": AttendanceKind.SIGN_OUT, "all_handed_in": "no"})
    marks = list(assignment.attendance.values_list("kind", "all_handed_in"))
    assert marks == [
        ("check_in", None),
        ("check_in_again", None),
        ("sign_out", False),
    ]
    other = event.deployment.roster.get(observer=event.carol)
    assert (
        client.post(reverse("field:attendance", args=[other.pk]), {"kind": "check_in"}).status_code
        == 403
    )
