"""The S3 blob store as the settings describe it (AMPARO_S3_* in amparo/settings.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from amparo.evidence.s3store import S3BlobStore

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def s3_configured() -> bool:
    return bool(settings.AMPARO_S3_BUCKET)


def s3_client() -> S3Client:
    """A client for the configured endpoint, with retries for a storage service restarting."""
    if not s3_configured():
        raise ImproperlyConfigured("AMPARO_S3_BUCKET is not set")
    return boto3.client(
        "s3",
        endpoint_url=settings.AMPARO_S3_ENDPOINT_URL or None,
        region_name=settings.AMPARO_S3_REGION,
        aws_access_key_id=settings.AMPARO_S3_ACCESS_KEY_ID or None,
        aws_secret_access_key=settings.AMPARO_S3_SECRET_ACCESS_KEY or None,
        config=Config(retries={"max_attempts": 5, "mode": "standard"}),
    )


def s3_blob_store(recipients: Sequence[str], identities: Sequence[str] = ()) -> S3BlobStore:
    """The evidence blob store in the configured bucket, encrypting to ``recipients``."""
    return S3BlobStore(
        settings.AMPARO_S3_BUCKET,
        s3_client(),
        recipients,
        identities,
        settings.AMPARO_S3_PREFIX,
        part_size=settings.AMPARO_S3_PART_SIZE,
    )
