"""Email through Django's configured backend (SMTP in production)."""

from __future__ import annotations

from dataclasses import dataclass
from email.mime.image import MIMEImage

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection


@dataclass(frozen=True)
class InlineImage:
    """An image the HTML part shows through ``cid:<content_id>``."""

    content_id: str
    png: bytes


def send_email(
    to: str,
    subject: str,
    text: str,
    *,
    html: str | None = None,
    images: tuple[InlineImage, ...] = (),
) -> None:
    """Send one message to one address; raises if the server refuses it."""
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        connection=get_connection(fail_silently=False),
    )
    if html is not None:
        message.attach_alternative(html, "text/html")
        message.mixed_subtype = "related"
    for image in images:
        part = MIMEImage(image.png, "png")
        part.add_header("Content-ID", f"<{image.content_id}>")
        part.add_header("Content-Disposition", "inline", filename=f"{image.content_id}.png")
        message.attach(part)
    message.send()
