from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings

from amparo.notify.mail import InlineImage, send_email
from tests.notify.loopback import SmtpInbox, free_port


def test_a_message_reaches_a_real_smtp_server(smtp_inbox: SmtpInbox) -> None:
    send_email("ana@example.org", "Teach-in tomorrow", "See you there.")
    [message] = smtp_inbox.to("ana@example.org")
    assert message["Subject"] == "Teach-in tomorrow"
    body = message.get_body(("plain",))
    assert body is not None
    assert "See you there." in body.get_content()


def test_html_and_an_inline_image_travel_together(smtp_inbox: SmtpInbox) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
    send_email(
        "ana@example.org",
        "QR",
        "text",
        html='<img src="cid:qr">',
        images=(InlineImage("qr", png),),
    )
    [message] = smtp_inbox.messages
    html = message.get_body(("html",))
    assert html is not None
    assert "cid:qr" in html.get_content()
    images = [part for part in message.walk() if part.get_content_type() == "image/png"]
    assert len(images) == 1
    assert images[0]["Content-ID"] == "<qr>"
    assert images[0].get_payload(decode=True) == png


def test_a_server_that_is_not_there_raises() -> None:
    with (
        override_settings(
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=free_port(),
            EMAIL_TIMEOUT=2,
        ),
        pytest.raises(OSError, match=r"[Cc]onnection refused"),
    ):
        send_email("ana@example.org", "s", "t")


def test_an_idempotency_key_gives_the_same_message_id_every_time(
    smtp_inbox: SmtpInbox, settings: Any
) -> None:
    settings.DEFAULT_FROM_EMAIL = "Amparo <alerts@network.example>"
    for _ in range(2):
        send_email("ana@example.org", "s", "t", idempotency_key="amparo-alert-abc123")
    send_email("ana@example.org", "s", "t")
    first, second, plain = smtp_inbox.messages
    assert first["Message-ID"] == second["Message-ID"] == "<amparo-alert-abc123@network.example>"
    assert plain["Message-ID"] != first["Message-ID"]
    with pytest.raises(ValueError, match="idempotency key"):
        send_email("ana@example.org", "s", "t", idempotency_key="a b>")
    assert len(smtp_inbox.messages) == 3
