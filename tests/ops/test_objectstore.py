"""The S3 settings build a blob store that works against a real SeaweedFS."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from amparo.evidence.age import generate_identity
from amparo.ops.objectstore import s3_blob_store, s3_configured
from tests.ops.seaweedfs import ACCESS_KEY, SECRET_KEY, SeaweedFS, running_seaweedfs


@pytest.fixture(scope="module")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedFS]:
    with running_seaweedfs(Path(tmp_path_factory.mktemp("seaweedfs-settings"))) as server:
        yield server


def test_without_a_bucket_there_is_no_s3_store(settings: Any) -> None:
    settings.AMPARO_S3_BUCKET = ""
    assert not s3_configured()
    with pytest.raises(ImproperlyConfigured, match="AMPARO_S3_BUCKET"):
        s3_blob_store([generate_identity()[1]])


def test_the_settings_reach_the_bucket(settings: Any, seaweedfs: SeaweedFS) -> None:
    settings.AMPARO_S3_BUCKET = seaweedfs.bucket
    settings.AMPARO_S3_ENDPOINT_URL = seaweedfs.endpoint
    settings.AMPARO_S3_ACCESS_KEY_ID = ACCESS_KEY
    settings.AMPARO_S3_SECRET_ACCESS_KEY = SECRET_KEY
    settings.AMPARO_S3_PREFIX = "settings-test/"
    identity, recipient = generate_identity()
    store = s3_blob_store([recipient], [identity])
    result = store.ingest(io.BytesIO(b"from the settings"))
    listed = seaweedfs.client().list_objects_v2(Bucket=seaweedfs.bucket, Prefix="settings-test/")
    assert f"settings-test/blobs/{result.id}.age" in [entry["Key"] for entry in listed["Contents"]]
    with store.open(result.id) as reader:
        assert reader.read() == b"from the settings"
