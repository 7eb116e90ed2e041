from __future__ import annotations

import pytest
from django.test import override_settings

from amparo.notify.sms import SmsNotConfigured, SmsRefused, send_sms, sms_available
from tests.notify.loopback import SmsGateway


def test_a_text_is_posted_as_json_with_the_token(sms_gateway: SmsGateway) -> None:
    send_sms("+15551230000", "Teach-in tomorrow at 6pm")
    [request] = sms_gateway.received
    assert request.path == "/messages"
    assert request.body == {"to": "+15551230000", "text": "Teach-in tomorrow at 6pm"}
    assert request.headers["Authorization"] == "Bearer gateway-test-token"
    assert request.headers["Content-Type"] == "application/json"


def test_a_refusal_by_the_gateway_is_an_error(sms_gateway: SmsGateway) -> None:
    sms_gateway.answer_status = 503
    with pytest.raises(SmsRefused, match="503"):
        send_sms("+15551230000", "x")


@override_settings(AMPARO_SMS_GATEWAY_URL="")
def test_without_a_gateway_nothing_is_sent() -> None:
    assert not sms_available()
    with pytest.raises(SmsNotConfigured, match="AMPARO_SMS_GATEWAY_URL"):
        send_sms("+15551230000", "x")


@override_settings(AMPARO_SMS_GATEWAY_URL="file:///etc/passwd")
def test_only_http_gateways_are_used() -> None:
    with pytest.raises(SmsNotConfigured, match="http"):
        send_sms("+15551230000", "x")


def test_an_idempotency_key_travels_in_a_header_and_the_body(sms_gateway: SmsGateway) -> None:
    send_sms("+15551230000", "x", idempotency_key="amparo-alert-abc123")
    [request] = sms_gateway.received
    assert request.headers["Idempotency-Key"] == "amparo-alert-abc123"
    assert request.body == {"to": "+15551230000", "text": "x", "id": "amparo-alert-abc123"}
