"""Text messages through an HTTP gateway: one JSON POST per message.

The gateway is whatever the network runs or rents: it receives
``{"to": "+15551234567", "text": "..."}`` with ``Authorization: Bearer <token>``
at AMPARO_SMS_GATEWAY_URL and answers 2xx when it has accepted the message. A message that
may be sent again after a crash (a family alert) also carries ``"id"`` in the body and the
same value in an ``Idempotency-Key`` header, so that a gateway which keeps them can drop
the repeat.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from django.conf import settings

TIMEOUT_SECONDS = 10


class SmsNotConfigured(RuntimeError):
    """No gateway URL is set, so no text message can go out."""


class SmsRefused(RuntimeError):
    """The gateway did not accept the message."""


def gateway_url() -> str:
    return str(getattr(settings, "AMPARO_SMS_GATEWAY_URL", "") or "")


def sms_available() -> bool:
    return bool(gateway_url())


def send_sms(to: str, text: str, *, idempotency_key: str | None = None) -> None:
    url = gateway_url()
    if not url:
        raise SmsNotConfigured("AMPARO_SMS_GATEWAY_URL is not set; no text message was sent.")
    if not url.startswith(("https://", "http://")):
        raise SmsNotConfigured(f"AMPARO_SMS_GATEWAY_URL must be an http(s) URL, not {url!r}.")
    token = str(getattr(settings, "AMPARO_SMS_GATEWAY_TOKEN", "") or "")
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    fields = {"to": to, "text": text}
    if idempotency_key is not None:
        fields["id"] = idempotency_key
        headers["Idempotency-Key"] = idempotency_key
    body = json.dumps(fields).encode()
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
            status = response.status
    except urllib.error.HTTPError as error:
        raise SmsRefused(f"The SMS gateway at {url} answered {error.code}.") from error
    except OSError as error:
        raise SmsRefused(f"The SMS gateway at {url} could not be reached: {error}.") from error
    if not 200 <= status < 300:
        raise SmsRefused(f"The SMS gateway at {url} answered {status}.")
