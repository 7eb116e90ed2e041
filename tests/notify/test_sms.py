from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

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


def test_a_redirect_is_not_followed_and_the_token_stays_home(sms_gateway: SmsGateway) -> None:
    """A gateway answering with a redirect has not taken the message: the token is not sent
    on to the other host, and nothing is counted as delivered."""
    elsewhere: list[dict[str, str]] = []

    class Elsewhere(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            elsewhere.append(dict(self.headers))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_POST = do_GET

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Elsewhere)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        sms_gateway.redirect_to = f"http://127.0.0.1:{server.server_address[1]}/collect"
        with pytest.raises(SmsRefused, match="302"):
            send_sms("+15551230000", "x")
    finally:
        server.shutdown()
        server.server_close()
    assert len(sms_gateway.received) == 1
    assert elsewhere == []


def test_a_failure_names_the_gateway_host_not_its_key(sms_gateway: SmsGateway) -> None:
    sms_gateway.answer_status = 401
    keyed = sms_gateway.url + "?key=SECRET-IN-URL"
    with override_settings(AMPARO_SMS_GATEWAY_URL=keyed), pytest.raises(SmsRefused) as refused:
        send_sms("+15551230000", "x")
    assert "SECRET-IN-URL" not in str(refused.value)
    assert "/messages" not in str(refused.value)
    assert "127.0.0.1" in str(refused.value)
    closed = "http://user:pw@127.0.0.1:9/messages?k=S"
    with override_settings(AMPARO_SMS_GATEWAY_URL=closed), pytest.raises(SmsRefused) as unreachable:
        send_sms("+15551230000", "x")
    assert "pw" not in str(unreachable.value)
    assert "k=S" not in str(unreachable.value)
