"""`amparo backup` and `amparo restore`: a populated instance comes back whole elsewhere."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tarfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.db import connection
from pytest_django import DjangoDbBlocker

from amparo.evidence.age import format_identity_file, generate_identity
from amparo.evidence.store import EvidenceStore

REPOSITORY = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

USERS_SCRIPT = """
import sys, django
django.setup()
from amparo.accounts.models import User
if sys.argv[1] == "create":
    for name in ("alice", "bob", "carmen"):
        User.objects.create_user(username=name, password="a long password 123", role="observer")
print(",".join(sorted(User.objects.values_list("username", flat=True))))
"""
TABLES_SCRIPT = (
    "import django; django.setup(); from django.db import connection; "
    "print(len(connection.introspection.table_names()))"
)
SECRET_SCRIPT = (
    "import django; django.setup(); from django.conf import settings; print(settings.SECRET_KEY)"
)
# Seals a value on one instance, opens it on another: the same field key on both.
SEALED_SCRIPT = """
import sys, django
django.setup()
from amparo.hotline.sealed_fields import seal, unseal
print(seal("a_number", sys.argv[2]) if sys.argv[1] == "seal" else unseal("a_number", sys.argv[2]))
"""


@dataclass
class Instance:
    data_dir: Path
    database_url: str | None

    @property
    def environment(self) -> dict[str, str]:
        environment = {
            key: value
            for key, value in os.environ.items()
            if key not in {"DATABASE_URL", "AMPARO_SECRET_KEY", "AMPARO_EVIDENCE_DIR"}
        }
        environment.update(
            AMPARO_DATA_DIR=str(self.data_dir),
            PYTHONPATH=str(REPOSITORY),
            DJANGO_SETTINGS_MODULE="amparo.settings",
        )
        if self.database_url:
            environment["DATABASE_URL"] = self.database_url
        return environment

    def run(self, *arguments: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            arguments, cwd=REPOSITORY, env=self.environment, capture_output=True, text=True
        )
        if check:
            assert result.returncode == 0, f"{arguments}: {result.stdout}{result.stderr}"
        return result

    def amparo(self, *arguments: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run(sys.executable, "-m", "amparo.cli", *arguments, check=check)

    def python(self, script: str, *arguments: str) -> str:
        return self.run(sys.executable, "-c", script, *arguments).stdout.strip()

    @property
    def evidence(self) -> Path:
        return self.data_dir / "evidence"


class Databases:
    """Databases for the instances of this module, on the engine of this test run."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def instance(self, data_dir: Path) -> Instance:
        if connection.vendor != "postgresql":
            return Instance(data_dir, None)
        name = f"amparo_backup_{uuid.uuid4().hex[:12]}"
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE {name}")
        self.names.append(name)
        parts = urlsplit(os.environ["DATABASE_URL"])
        return Instance(data_dir, urlunsplit(parts._replace(path="/" + name)))

    def drop_all(self) -> None:
        with connection.cursor() as cursor:
            for name in self.names:
                cursor.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@dataclass
class Source:
    instance: Instance
    item_ids: list[str]
    vkey: str
    identity_file: Path
    with_keys: Path
    without_keys: Path


@pytest.fixture(scope="module")
def databases(django_db_setup: None, django_db_blocker: DjangoDbBlocker) -> Iterator[Databases]:
    with django_db_blocker.unblock():
        databases = Databases()
        try:
            yield databases
        finally:
            databases.drop_all()


@pytest.fixture(scope="module")
def source(databases: Databases, tmp_path_factory: pytest.TempPathFactory) -> Source:
    """A populated instance and two backups of it, made once for the module."""
    base = tmp_path_factory.mktemp("backup")
    identity, recipient = generate_identity()
    identity_file = base / "backup-identity.txt"
    identity_file.write_text(format_identity_file(identity))
    instance = databases.instance(base / "source")
    item_ids, vkey = populate(instance)
    with_keys = base / "with-keys.backup.age"
    made = instance.amparo("backup", str(with_keys), "--recipient", recipient, "--include-keys")
    assert "with the store's private keys" in made.stdout
    without_keys = base / "without-keys.backup.age"
    instance.amparo("backup", str(without_keys), "--recipient", recipient)
    return Source(instance, item_ids, vkey, identity_file, with_keys, without_keys)


@pytest.fixture
def restored(databases: Databases, tmp_path: Path) -> Instance:
    instance = databases.instance(tmp_path / "restored")
    instance.data_dir.mkdir()
    return instance


def populate(instance: Instance) -> tuple[list[str], str]:
    """Accounts in the database and three originals in the evidence store; returns ids, key."""
    instance.data_dir.mkdir(parents=True)
    instance.amparo("migrate", "--no-input")
    instance.python(USERS_SCRIPT, "create")
    store, vkey = EvidenceStore.init(instance.evidence, "backup.example/log")
    with store:
        items = [
            store.ingest(
                io.BytesIO(f"original {number} ".encode() * 5000),
                filename=f"photo-{number}.jpg",
                media_type="image/jpeg",
                actor_role="observer",
                actor_id="user:1",
            )
            for number in range(3)
        ]
        store.checkpoint()
    return [item.id for item in items], vkey


def backup_members(backup: Path, identity_file: Path) -> list[str]:
    # The age tool reads the backup, so it can be opened without Amparo.
    plain = subprocess.run(
        ["age", "-d", "-i", str(identity_file), str(backup)], capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(plain)) as archive:
        return archive.getnames()


@pytest.mark.slow
def test_a_backup_restores_elsewhere_and_its_evidence_verifies(
    source: Source, restored: Instance, tmp_path: Path
) -> None:
    backup = source.with_keys
    assert backup.stat().st_mode & 0o777 == 0o600
    members = backup_members(backup, source.identity_file)
    assert "evidence/keys/log.skey" in members
    assert not [name for name in members if name.startswith("evidence/blobs/tmp/")]
    assert any(name.startswith("database/") for name in members)

    restored.amparo("restore", str(backup), "--identity", str(source.identity_file))
    assert restored.python(USERS_SCRIPT, "list") == "alice,bob,carmen"
    assert restored.python(SECRET_SCRIPT) == source.instance.python(SECRET_SCRIPT)
    assert "field_key" in members
    assert (restored.data_dir / "field_key").stat().st_mode & 0o777 == 0o600
    sealed = source.instance.python(SEALED_SCRIPT, "seal", "012345678")
    assert restored.python(SEALED_SCRIPT, "open", sealed) == "012345678"

    fixity = restored.run(str(BIN / "amparo-evidence"), "fixity", str(restored.evidence))
    assert fixity.stdout.strip() == "OK: 3 originals and their custody entries intact"
    bundle = tmp_path / "bundle"
    restored.run(
        str(BIN / "amparo-evidence"),
        "bundle",
        str(restored.evidence),
        *source.item_ids[:2],
        "--out",
        str(bundle),
    )
    verified = restored.run(str(BIN / "amparo-verify"), str(bundle), "--key", source.vkey)
    assert verified.stdout.startswith("OK"), verified.stdout


@pytest.mark.slow
def test_private_keys_stay_out_unless_asked_and_come_back_from_elsewhere(
    source: Source, restored: Instance, tmp_path: Path
) -> None:
    backup = source.without_keys
    members = backup_members(backup, source.identity_file)
    assert "evidence/keys/log.vkey" in members
    assert "evidence/keys/log.skey" not in members
    assert "evidence/keys/age-identity.txt" not in members

    identity = str(source.identity_file)
    refused = restored.amparo("restore", str(backup), "--identity", identity, check=False)
    assert refused.returncode != 0
    assert "made without the evidence store's private keys; give --keys DIR" in refused.stderr
    assert_untouched(restored)

    kept_apart = tmp_path / "keys-kept-apart"
    shutil.copytree(source.instance.evidence / "keys", kept_apart)
    restored.amparo("restore", str(backup), "--identity", identity, "--keys", str(kept_apart))
    assert (restored.evidence / "keys" / "log.skey").stat().st_mode & 0o777 == 0o600
    fixity = restored.run(str(BIN / "amparo-evidence"), "fixity", str(restored.evidence))
    assert fixity.stdout.startswith("OK: 3 originals")


def assert_untouched(instance: Instance) -> None:
    assert not instance.evidence.exists()
    assert not (instance.data_dir / "amparo.sqlite3").exists()
    if instance.database_url:
        assert instance.python(TABLES_SCRIPT) == "0"


@pytest.mark.slow
def test_a_damaged_backup_changes_nothing(
    source: Source, restored: Instance, tmp_path: Path
) -> None:
    backup = tmp_path / "damaged.backup.age"
    data = bytearray(source.with_keys.read_bytes())
    data[len(data) * 3 // 4] ^= 0x01
    backup.write_bytes(bytes(data))
    identity = str(source.identity_file)
    refused = restored.amparo("restore", str(backup), "--identity", identity, check=False)
    assert refused.returncode != 0
    assert f"{backup}: " in refused.stderr
    assert "failed authentication" in refused.stderr
    assert_untouched(restored)
    backup.write_bytes(source.with_keys.read_bytes()[:-5000])
    refused = restored.amparo("restore", str(backup), "--identity", identity, check=False)
    assert "truncated" in refused.stderr or "cut" in refused.stderr, refused.stderr
    assert_untouched(restored)


def test_backup_refuses_a_bad_recipient(tmp_path: Path) -> None:
    instance = Instance(tmp_path / "instance", None)
    instance.data_dir.mkdir()
    result = instance.amparo(
        "backup", str(tmp_path / "out"), "--recipient", "age1nope", check=False
    )
    assert result.returncode != 0
    assert "--recipient:" in result.stderr
    assert not (tmp_path / "out").exists()
