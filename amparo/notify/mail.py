"""Email through Django's configured backend (SMTP in production)."""

from __future__ import annotations

from dataclasses import dataclass
from email.mime.image import MIMEImage
from email.utils import parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection


@dataclass(frozen=True)
class InlineImage:
    """An image the HTML part shows through ``cid:<content_id>``."""

    content_id: str
    png: bytes


def stable_message_id(key: str) -> str:
    """``<key@domain>``, the domain being the sender address's, so the same key always gives
    the same Message-ID."""
    if not key or not all(ch.isalnum() or ch in "-._" for ch in key):
        raise ValueError(f"an idempotency key is letters, digits, '-', '.' or '_': {key!r}")
    domain = parseaddr(str(settings.DEFAULT_FROM_EMAIL))[1].rpartition("@")[2] or "localhost"
    return f"<{key}@{domain}>"


def send_email(
    to: str,
    subject: str,
    text: str,
    *,
    html: str | None = None,
    images: tuple[InlineImage, ...] = (),
    idempotency_key: str | None = None,
) -> None:
    """Send one message to one address; raises if the server refuses it.

    With an idempotency key the message's Message-ID is made from it, so a message sent
    again after a crash (see preparedness/alerts.py) carries the same Message-ID and the
    receiving side can recognise the repeat; without one, Django makes a fresh Message-ID.
    """
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        connection=get_connection(fail_silently=False),
    )
    if idempotency_key is not None:
        message.extra_headers["Message-ID"] = stable_message_id(idempotency_key)
    if html is not None:
        message.attach_alternative(html, "text/html")
        message.mixed_subtype = "related"
    for image in images:
        part = MIMEImage(image.png, "png")
        part.add_header("Content-ID", f"<{image.content_id}>")
        part.add_header("Content-Disposition", "inline", filename=f"{image.content_id}.png")
        message.attach(part)
    message.send()
