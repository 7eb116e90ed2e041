"""Nothing from a plan reaches another family, a volunteer without consent, or a revoked link."""

from __future__ import annotations

import hashlib
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from amparo.accounts.models import User
from amparo.accounts.roles import Role
from amparo.audit.models import AuditEvent
from amparo.hotline.models import Case
from amparo.preparedness.models import Activation, VaultDocument
from amparo.preparedness.sharing import create_share_link, revoke_share_link
from amparo.preparedness.vault import store_document
from amparo.web.policy import MFA_SESSION_KEY
from tests.preparedness.conftest import fill_plan, make_family

pytestmark = pytest.mark.django_db

PASSPHRASE = "luna-cielo-tren-faro-42"
PDF = b"%PDF-1.4\n" + b"birth certificate of Sofia " * 100


def family_client(username: str) -> Client:
    client = Client()
    response = client.post(
        reverse("preparedness:sign_in"), {"username": username, "passphrase": PASSPHRASE}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("preparedness:home")
    return client


def staff_client(role: Role) -> tuple[Client, User]:
    user = User.objects.create_user(username=f"{role}-person", role=role)
    client = Client()
    client.force_login(user)
    session = client.session
    session[MFA_SESSION_KEY] = True
    session.save()
    return client, user


def test_another_family_cannot_read_or_download_anything():
    owner = make_family("rivera")
    fill_plan(owner.plan)
    document = store_document(owner.plan, io.BytesIO(PDF), filename="acta.pdf", size=len(PDF))
    contact = owner.plan.contacts.first()
    member = owner.plan.members.first()
    assert contact is not None
    assert member is not None
    make_family("other")
    other = family_client("other")

    for path in (
        reverse("preparedness:download", args=[document.pk]),
        reverse("preparedness:contact_edit", args=[contact.pk]),
        reverse("preparedness:member_edit", args=[member.pk]),
    ):
        assert other.get(path).status_code == 404, path
    assert other.post(reverse("preparedness:member_remove", args=[member.pk])).status_code == 404
    home = other.get(reverse("preparedness:home")).content.decode()
    assert "Sofía" not in home
    assert "Rivera" not in home

    owner_client = family_client("rivera")
    response = owner_client.get(reverse("preparedness:download", args=[document.pk]))
    assert response.status_code == 200
    body = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    assert hashlib.sha256(body).hexdigest() == document.sha256 == hashlib.sha256(PDF).hexdigest()


def test_family_pages_need_a_family_session_and_staff_are_not_families():
    client, _user = staff_client(Role.COORDINATOR)
    response = client.get(reverse("preparedness:home"))
    assert response.status_code == 302
    assert response["Location"] == reverse("preparedness:sign_in")


def test_a_volunteer_finds_a_plan_only_with_the_familys_consent(smtp_inbox):
    plan = fill_plan(make_family().plan)
    client, volunteer = staff_client(Role.HOTLINE)
    lookup = reverse("preparedness:volunteer")

    refused = client.post(lookup, {"reference": plan.reference})
    assert plan.person_name not in refused.content.decode()
    assert plan.account.display_name not in refused.content.decode()
    blocked = client.post(reverse("preparedness:volunteer_activate"), {"reference": plan.reference})
    assert blocked.status_code == 404
    assert Activation.objects.count() == 0

    plan.hotline_may_act = True
    plan.save()
    found = client.post(lookup, {"reference": plan.reference})
    assert plan.account.display_name in found.content.decode()
    response = client.post(
        reverse("preparedness:volunteer_activate"), {"reference": plan.reference}
    )
    activation = Activation.objects.get()
    assert activation.volunteer == volunteer
    assert response["Location"] == reverse("hotline:case", args=[activation.case_id])
    assert Case.objects.get().intakes.get().taken_by == volunteer
    assert len(smtp_inbox.messages) == 2


@pytest.mark.parametrize("role", [Role.OBSERVER, Role.TRAINER, Role.ATTORNEY])
def test_other_staff_cannot_act_for_a_family(role):
    plan = make_family().plan
    plan.hotline_may_act = True
    plan.save()
    client, _user = staff_client(role)
    response = client.post(reverse("preparedness:volunteer"), {"reference": plan.reference})
    assert response.status_code == 403


def test_a_shared_link_is_read_only_audited_and_dead_once_revoked():
    plan = fill_plan(make_family().plan)
    issued = create_share_link(plan, "Rosa")
    assert issued.token not in issued.link.token_hash
    caregiver = Client()

    entry = caregiver.get(reverse("preparedness:shared_entry", args=[issued.token]))
    assert entry["Location"] == reverse("preparedness:shared")
    page = caregiver.get(reverse("preparedness:shared"))
    assert page.status_code == 200
    assert "Sofía Rivera" in page.content.decode()
    packet = caregiver.get(reverse("preparedness:shared_packet"))
    assert packet["Content-Type"] == "application/pdf"
    assert AuditEvent.objects.filter(action="family.shared_plan_viewed").count() == 2
    # Read-only: the link opens no family page.
    assert caregiver.get(reverse("preparedness:home")).status_code == 302

    assert revoke_share_link(plan, issued.link.pk)
    after = caregiver.get(reverse("preparedness:shared"))
    assert after.status_code == 404
    assert "Sofía" not in after.content.decode()
    again = Client()
    again.get(reverse("preparedness:shared_entry", args=[issued.token]))
    assert again.get(reverse("preparedness:shared")).status_code == 404
    assert again.get(reverse("preparedness:shared_packet")).status_code == 404
    # The first refusal forgets the link, so the packet request had none to refuse.
    assert AuditEvent.objects.filter(action="family.shared_plan_refused").count() == 2


def test_the_public_activation_page_locks_after_five_wrong_codes():
    from amparo.preparedness.services import add_trusted_person

    plan = make_family().plan
    named = add_trusted_person(plan, "Carmen")
    client = Client()
    url = reverse("preparedness:trusted_activation")
    statuses = [
        client.post(url, {"reference": plan.reference, "code": "111-111-111"}).status_code
        for _attempt in range(5)
    ]
    assert statuses == [200, 200, 200, 200, 429]
    # The lock is on the plan: a new visitor with the right code is refused too.
    right = Client().post(url, {"reference": plan.reference, "code": named.code})
    assert right.status_code == 429
    assert Activation.objects.count() == 0


def test_uploads_are_refused_with_a_clear_message():
    make_family()
    client = family_client("rivera")
    response = client.post(
        reverse("preparedness:documents"),
        {"kind": "", "file": SimpleUploadedFile("notes.txt", b"just text", "application/pdf")},
    )
    page = response.content.decode()
    # Whatever the page's language, the message names the file and what is accepted.
    assert "notes.txt" in page
    assert "PDF, JPEG, PNG, WebP, HEIC" in page
    assert VaultDocument.objects.count() == 0


def test_the_trusted_persons_confirmation_offers_the_hotline_to_dial(settings):
    from amparo.preparedness.services import add_trusted_person

    settings.AMPARO_HOTLINE_NUMBER = "+1 (555) 010-0200"
    plan = make_family().plan
    named = add_trusted_person(plan, "Carmen")
    page = Client().post(
        reverse("preparedness:trusted_activation"),
        {"reference": plan.reference, "code": named.code},
    )
    assert page.status_code == 200
    text = page.content.decode()
    assert "Call the hotline now:" in text
    # The same tel: address as the rights card's QR code: only what a dialler reads.
    assert '<a href="tel:+15550100200"><bdi dir="ltr">+1 (555) 010-0200</bdi></a>' in text
