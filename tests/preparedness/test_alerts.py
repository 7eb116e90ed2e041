from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse

from amparo.accounts.roles import Role
from amparo.audit.models import AuditEvent
from amparo.hotline.models import Case, IntakeChannel
from amparo.preparedness.alerts import activate_plan
from amparo.preparedness.models import (
    Activation,
    ActivationSource,
    AlertDelivery,
    ContactChannel,
    DeliveryState,
    EmergencyContact,
)
from amparo.preparedness.services import (
    CODE_FAILURE_LIMIT,
    CodeRefused,
    add_trusted_person,
    check_activation_code,
    check_pin,
    format_reference,
    set_pin,
)
from tests.preparedness.conftest import HOTLINE, fill_plan, make_family
from tests.preparedness.test_access import PASSPHRASE, staff_client

pytestmark = pytest.mark.django_db


def test_trusted_person_activation_sends_each_message_once_and_opens_an_intake(smtp_inbox):
    plan = fill_plan(make_family().plan)
    named = add_trusted_person(plan, "Carmen")
    person = check_activation_code(format_reference(plan.reference), named.code)

    outcome = activate_plan(plan, ActivationSource.TRUSTED, trusted_person=person)

    assert (outcome.sent, outcome.failed, outcome.repeated) == (2, 0, False)
    rosa = smtp_inbox.to("tia@example.org")
    pastor = smtp_inbox.to("pastor@example.org")
    assert len(rosa) == 1
    assert len(pastor) == 1
    rosa_text = rosa[0].get_content()
    assert "Hola Rosa" in rosa_text
    assert HOTLINE in rosa_text
    assert "Sofía Rivera: Rosa Rivera" in rosa_text  # she may be told about the children
    assert "We prepared for this." in pastor[0].get_content()
    assert outcome.activation.case_id is not None
    case = Case.objects.get(pk=outcome.activation.case_id)
    intake = case.intakes.get()
    assert case.legal_name == "María Rivera"
    assert "Sofía Rivera" in intake.children
    assert "Mateo Rivera" in intake.children
    assert "Lic. Ana Torres" in intake.existing_attorney
    assert intake.caller_name == "Carmen"
    assert "peanuts" in intake.medical_needs
    assert outcome.activation.trusted_person == person
    assert AuditEvent.objects.filter(action="family.plan_activated").count() == 1


def test_a_second_activation_within_the_hour_sends_nothing(smtp_inbox):
    plan = fill_plan(make_family().plan)
    set_pin(plan, "4821")
    first = activate_plan(plan, ActivationSource.FAMILY)
    second = activate_plan(plan, ActivationSource.FAMILY)

    assert first.sent == 2
    assert second.repeated
    assert second.sent == 0
    assert second.activation.pk == first.activation.pk
    assert len(smtp_inbox.messages) == 2
    assert Activation.objects.count() == 1
    assert Case.objects.count() == 1


def test_the_database_refuses_a_second_delivery_to_one_contact(smtp_inbox):
    plan = fill_plan(make_family().plan)
    outcome = activate_plan(plan, ActivationSource.FAMILY)
    delivery = AlertDelivery.objects.filter(activation=outcome.activation).first()
    assert delivery is not None
    with pytest.raises(IntegrityError), transaction.atomic():
        AlertDelivery.objects.create(
            activation=outcome.activation,
            contact=delivery.contact,
            idempotency_key="another-key",
            channel=delivery.channel,
            address=delivery.address,
            subject="again",
            text="again",
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        Activation.objects.create(
            plan=plan, source=ActivationSource.FAMILY, hour=outcome.activation.hour
        )


def test_sms_contacts_go_through_the_gateway_and_failures_do_not_stop_the_rest(
    smtp_inbox, sms_gateway
):
    plan = fill_plan(make_family().plan)
    EmergencyContact.objects.create(
        plan=plan, name="Tío", language="es", channel=ContactChannel.SMS, phone="+15550100999"
    )
    EmergencyContact.objects.create(plan=plan, name="No address", channel=ContactChannel.SMS)
    outcome = activate_plan(plan, ActivationSource.FAMILY)
    assert (outcome.sent, outcome.failed) == (3, 1)
    assert [r.body["to"] for r in sms_gateway.received] == ["+15550100999"]
    assert "Hola Tío" in sms_gateway.received[0].body["text"]
    states = set(AlertDelivery.objects.values_list("state", flat=True))
    assert states == {DeliveryState.SENT, DeliveryState.FAILED}


def test_five_wrong_codes_lock_the_plan_even_for_the_right_code():
    plan = make_family().plan
    named = add_trusted_person(plan, "Carmen")
    reference = plan.reference
    for attempt in range(CODE_FAILURE_LIMIT):
        with pytest.raises(CodeRefused) as refused:
            check_activation_code(reference, "000-000-000")
        assert refused.value.locked == (attempt == CODE_FAILURE_LIMIT - 1)
    with pytest.raises(CodeRefused) as refused:
        check_activation_code(reference, named.code)
    assert refused.value.locked
    with pytest.raises(CodeRefused) as refused:
        check_pin(plan, "1234")
    assert refused.value.locked


def test_codes_are_stored_only_as_hashes_and_revoked_codes_fail():
    plan = make_family().plan
    named = add_trusted_person(plan, "Carmen")
    digits = named.code.replace("-", "")
    assert digits not in named.person.code_hash
    assert check_activation_code(plan.reference.lower(), named.code) == named.person
    from amparo.preparedness.services import revoke_trusted_person

    assert revoke_trusted_person(plan, named.person.pk)
    with pytest.raises(CodeRefused):
        check_activation_code(plan.reference, named.code)


def test_an_unknown_reference_gets_the_same_answer_as_a_wrong_code():
    plan = make_family().plan
    add_trusted_person(plan, "Carmen")
    with pytest.raises(CodeRefused) as unknown:
        check_activation_code("ZZZZ-ZZZZ", "123-456-789")
    with pytest.raises(CodeRefused) as wrong:
        check_activation_code(plan.reference, "123-456-789")
    assert unknown.value.message == wrong.value.message


def test_pin_is_checked():
    plan = make_family().plan
    set_pin(plan, "4821")
    check_pin(plan, "4821")
    with pytest.raises(CodeRefused):
        check_pin(plan, "4822")
    with pytest.raises(CodeRefused):
        set_pin(plan, "12")


def test_a_hotline_volunteer_activates_for_the_family_and_it_is_recorded(smtp_inbox):
    account = make_family(language="en")
    plan = fill_plan(account.plan)
    plan.hotline_may_act = True
    plan.save()
    client, volunteer = staff_client(Role.HOTLINE)

    response = client.post(
        reverse("preparedness:volunteer_activate"), {"reference": plan.reference}, follow=True
    )
    activation = Activation.objects.get()
    assert activation.source == ActivationSource.HOTLINE
    assert activation.volunteer == volunteer
    assert activation.trusted_person is None
    assert activation.case_id is not None
    intake = Case.objects.get(pk=activation.case_id).intakes.get()
    assert intake.channel == IntakeChannel.PLAN_ACTIVATION
    assert intake.taken_by == volunteer
    assert intake.caller_relationship == "hotline volunteer, for the family"
    # The volunteer lands on the case, which says where the report came from.
    case_page = response.content.decode()
    assert "(Plan activation)" in case_page
    assert "Messages sent: 2" in case_page
    event = AuditEvent.objects.get(action="family.plan_activated")
    assert event.actor == volunteer
    assert f"hotline user:{volunteer.pk}" in event.detail
    assert len(smtp_inbox.messages) == 2

    # A second volunteer within the hour: nothing sent again, back to the same case.
    other, second_volunteer = staff_client(Role.COORDINATOR)
    again = other.post(reverse("preparedness:volunteer_activate"), {"reference": plan.reference})
    assert again["Location"] == reverse("hotline:case", args=[activation.case_id])
    assert len(smtp_inbox.messages) == 2
    repeated = AuditEvent.objects.get(action="family.plan_activation_repeated")
    assert repeated.actor == second_volunteer

    # The volunteer's page and the family's page both show who activated it and what was sent.
    found = client.post(reverse("preparedness:volunteer"), {"reference": plan.reference})
    assert "A hotline volunteer, for the family" in found.content.decode()
    assert "<li>Sent: 2</li>" in found.content.decode()
    family = Client()
    family.post(reverse("preparedness:sign_in"), {"username": "rivera", "passphrase": PASSPHRASE})
    alerts_page = family.get(reverse("preparedness:alerts")).content.decode()
    assert "A hotline volunteer, for the family" in alerts_page
