"""Where attachment files live: under the data directory, never under a public media URL."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.files.storage import FileSystemStorage


def media_root() -> Path:
    return Path(settings.DATA_DIR) / "media"


class PrivateFileStorage(FileSystemStorage):
    """Files with no public URL: a view that checks who is asking serves them."""

    def url(self, name: str | None) -> str:
        raise ValueError(f"{name} has no public URL; serve it through a view with a policy")


def attachment_storage() -> PrivateFileStorage:
    return PrivateFileStorage(location=media_root())
