"""Real servers on loopback for notification tests: an SMTP server and an HTTP SMS gateway."""

from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

import pytest
from aiosmtpd.controller import Controller
from django.test import override_settings


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class SmtpInbox:
    port: int
    messages: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address in str(m["To"])]


SmtpInboxT = TypeVar("SmtpInboxT", bound=SmtpInbox)


def smtp_settings(port: int) -> dict[str, Any]:
    """Django mail settings that send to a local SMTP server on `port`."""
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": port,
        "EMAIL_USE_TLS": False,
        "EMAIL_HOST_USER": "",
        "EMAIL_HOST_PASSWORD": "",
    }


@contextmanager
def serving_mail(inbox: SmtpInboxT) -> Iterator[SmtpInboxT]:
    """Run `inbox` as an SMTP server on its port, with Django sending mail to it."""
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    controller.start()
    try:
        with override_settings(**smtp_settings(inbox.port)):
            yield inbox
    finally:
        controller.stop()


@pytest.fixture
def smtp_inbox() -> Iterator[SmtpInbox]:
    with serving_mail(SmtpInbox(port=free_port())) as inbox:
        yield inbox


@dataclass
class GatewayRequest:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class SmsGateway:
    url: str
    received: list[GatewayRequest] = field(default_factory=list)
    answer_status: int = 202
    redirect_to: str = ""  # set: answers 302 with this Location


@pytest.fixture
def sms_gateway() -> Iterator[SmsGateway]:
    gateway = SmsGateway(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            payload = json.loads(self.rfile.read(length))
            gateway.received.append(GatewayRequest(self.path, dict(self.headers), payload))
            if gateway.redirect_to:
                self.send_response(302)
                self.send_header("Location", gateway.redirect_to)
            else:
                self.send_response(gateway.answer_status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    gateway.url = f"http://127.0.0.1:{server.server_address[1]}/messages"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        with override_settings(
            AMPARO_SMS_GATEWAY_URL=gateway.url, AMPARO_SMS_GATEWAY_TOKEN="gateway-test-token"
        ):
            yield gateway
    finally:
        server.shutdown()
        server.server_close()
