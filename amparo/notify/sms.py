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
import urllib.parse
import urllib.request
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

TIMEOUT_SECONDS = 10


class SmsNotConfigured(RuntimeError):
    """No gateway URL is set, so no text message can go out."""


class SmsRefused(RuntimeError):
    """The gateway did not accept the message."""


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A gateway that answers with a redirect has not taken the message. Following it would
    send the bearer token to wherever it points, as a GET without the message, and count
    that host's 200 as delivered."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def _where(url: str) -> str:
    """The gateway's host for messages people read: never its path, query or credentials,
    which may carry a key."""
    parts = urllib.parse.urlsplit(url)
    return parts.hostname or "?" if parts.port is None else f"{parts.hostname}:{parts.port}"


def gateway_url() -> str:
    return str(getattr(settings, "AMPARO_SMS_GATEWAY_URL", "") or "")


def sms_available() -> bool:
    return bool(gateway_url())


def send_sms(to: str, text: str, *, idempotency_key: str | None = None) -> None:
    url = gateway_url()
    if not url:
        raise SmsNotConfigured(_("AMPARO_SMS_GATEWAY_URL is not set; no text message was sent."))
    if not url.startswith(("https://", "http://")):
        raise SmsNotConfigured(_("AMPARO_SMS_GATEWAY_URL must be an http(s) URL."))
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
    where = _where(url)
    try:
        with _opener.open(request, timeout=TIMEOUT_SECONDS) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        error.close()  # the answer's connection
        if 300 <= error.code < 400:
            said = _("The SMS gateway at %(host)s answered %(code)d, a redirect, not followed.")
        else:
            said = _("The SMS gateway at %(host)s refused the message: %(code)d.")
        raise SmsRefused(said % {"host": where, "code": error.code}) from error
    except OSError as error:
        reason = getattr(error, "reason", None) or error.strerror or type(error).__name__
        raise SmsRefused(
            _("The SMS gateway at %(host)s could not be reached: %(reason)s.")
            % {"host": where, "reason": reason}
        ) from error
    if not 200 <= status < 300:
        raise SmsRefused(
            _("The SMS gateway at %(host)s answered %(code)d.") % {"host": where, "code": status}
        )
