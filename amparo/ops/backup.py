"""Encrypted backups of an instance and their restore on a fresh data directory.

A backup is one age file (readable with the `age` tool) holding a tar stream::

    amparo-backup.json              format, when, which database, whether keys are inside
    secret_key                      the instance's Django secret key
    field_key                       the key that seals A-numbers, dates of birth and TOTP
                                    secrets in the database (nothing sealed opens without it)
    database/amparo.sqlite3         SQLite: a consistent copy made with the online backup API
    database/postgresql.NNNNNN      PostgreSQL: `pg_dump --format=custom`, in pieces
    evidence/...                    the evidence store: encrypted blobs, custody log,
                                    checkpoints, catalogue, public keys; the private keys
                                    (keys/log.skey, keys/age-identity.txt) only on request

The database is dumped first and the evidence catalogue copied after it, under the store's
lock, so every item the database names is in the backup. The pg_dump output is cut into
pieces of known size as it streams, since a tar member must state its size up front; nothing
of it touches the disk.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import IO, Any, BinaryIO

from django.conf import settings
from django.db import connection

from amparo.evidence.age import AgeError, DecryptingReader, EncryptingWriter
from amparo.evidence.checkpoint import exclusive_lock
from amparo.hotline.sealed_fields import KEY_FILE_NAME, field_key_text

BACKUP_FORMAT = "amparo-backup/1"
MANIFEST = "amparo-backup.json"
SECRET_KEY_MEMBER = "secret_key"  # noqa: S105 -- a file name, not a secret
FIELD_KEY_MEMBER = "field_key"
SQLITE_MEMBER = "database/amparo.sqlite3"
POSTGRESQL_PREFIX = "database/postgresql."
EVIDENCE_PREFIX = "evidence/"
PRIVATE_KEY_FILES = ("keys/log.skey", "keys/age-identity.txt")
# Partial ingests are not evidence; the store sweeps them and so does the backup.
_SKIPPED_EVIDENCE = ("blobs/tmp/",)
_LIBPQ_OPTIONS = {
    "host": "PGHOST",
    "port": "PGPORT",
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "passfile": "PGPASSFILE",
    "service": "PGSERVICE",
}
_DUMP_PIECE = 8 * 1024 * 1024
_COPY_SIZE = 1024 * 1024


class BackupError(Exception):
    """A backup or restore could not be made; the message says why and what to do."""


@dataclass(frozen=True)
class BackupSummary:
    database: str
    evidence_files: int
    included_keys: bool


# --- writing ------------------------------------------------------------------------------


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes, mode: int = 0o600) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    info.mtime = int(datetime.now(UTC).timestamp())
    archive.addfile(info, io.BytesIO(data))


def _add_file(archive: tarfile.TarFile, path: Path, name: str) -> None:
    with path.open("rb") as stream:
        info = archive.gettarinfo(fileobj=stream, arcname=name)
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        archive.addfile(info, stream)


def database_vendor() -> str:
    return str(connection.vendor)


def _postgresql_environment() -> dict[str, str]:
    """libpq's environment variables, so that no password appears on a command line."""
    database = settings.DATABASES["default"]
    environment = dict(os.environ)
    for variable, key in (
        ("PGHOST", "HOST"),
        ("PGPORT", "PORT"),
        ("PGUSER", "USER"),
        ("PGPASSWORD", "PASSWORD"),
        ("PGDATABASE", "NAME"),
    ):
        if database.get(key):
            environment[variable] = str(database[key])
    # DATABASE_URL's query (e.g. ?host=/run/postgresql) lands in OPTIONS.
    for option, value in database.get("OPTIONS", {}).items():
        if option in _LIBPQ_OPTIONS and value:
            environment[_LIBPQ_OPTIONS[option]] = str(value)
    return environment


def _postgresql_tool(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(
        Path("/usr/lib/postgresql").glob(f"*/bin/{name}"),
        key=lambda path: int(path.parts[-3]) if path.parts[-3].isdigit() else 0,
    )
    if not versions:
        raise BackupError(f"{name} is not installed; install Debian's postgresql-client")
    return str(versions[-1])


def _add_sqlite(archive: tarfile.TarFile) -> None:
    source_path = Path(settings.DATABASES["default"]["NAME"])
    # The copy is no more exposed than the database beside it, and is removed at once.
    descriptor, copy_name = tempfile.mkstemp(
        prefix=".backup-", suffix=".sqlite3", dir=settings.DATA_DIR
    )
    os.close(descriptor)
    copy = Path(copy_name)
    try:
        source = sqlite3.connect(source_path)
        target = sqlite3.connect(copy)
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
        _add_file(archive, copy, SQLITE_MEMBER)
    finally:
        copy.unlink(missing_ok=True)


def _add_postgresql(archive: tarfile.TarFile) -> None:
    dump = subprocess.Popen(
        [_postgresql_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_postgresql_environment(),
    )
    assert dump.stdout is not None
    assert dump.stderr is not None
    number = 0
    try:
        while piece := dump.stdout.read(_DUMP_PIECE):
            _add_bytes(archive, f"{POSTGRESQL_PREFIX}{number:06d}", piece)
            number += 1
    finally:
        errors = dump.stderr.read().decode(errors="replace")
        status = dump.wait()
    if status != 0 or number == 0:
        raise BackupError(f"pg_dump failed (exit status {status}): {errors.strip()}")


def _evidence_files(root: Path, include_keys: bool) -> tuple[list[Path], list[Path]]:
    """The store's files: (catalogue, log, checkpoints and keys; encrypted blobs)."""
    state: list[Path] = []
    blobs: list[Path] = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        if not path.is_file() or path.is_symlink():
            continue
        if any(relative.startswith(skipped) for skipped in _SKIPPED_EVIDENCE):
            continue
        if relative in PRIVATE_KEY_FILES and not include_keys:
            continue
        (blobs if relative.startswith("blobs/") else state).append(path)
    return state, blobs


def _add_evidence(archive: tarfile.TarFile, root: Path, include_keys: bool) -> int:
    with exclusive_lock(root / "lock"):
        state, _ = _evidence_files(root, include_keys)
        for path in state:
            _add_file(archive, path, EVIDENCE_PREFIX + path.relative_to(root).as_posix())
    # Blobs never change once written, and each one the catalogue names predates the copy.
    _, blobs = _evidence_files(root, include_keys)
    for path in blobs:
        _add_file(archive, path, EVIDENCE_PREFIX + path.relative_to(root).as_posix())
    return len(state) + len(blobs)


def write_backup(out: Path, recipients: Sequence[str], *, include_keys: bool) -> BackupSummary:
    """Write an age-encrypted backup of this instance to ``out`` (a new file, mode 0600).

    The file appears under its name only once complete and fsynced.
    """
    vendor = database_vendor()
    if vendor not in {"sqlite", "postgresql"}:
        raise BackupError(f"backups support SQLite and PostgreSQL, not {vendor}")
    evidence = Path(settings.EVIDENCE_DIR)
    has_evidence = (evidence / "store.json").exists()
    partial = out.with_name(f".{out.name}.partial")
    try:
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise BackupError(f"{partial} exists: another backup is running, or remove it") from None
    if out.exists():
        os.close(descriptor)
        partial.unlink()
        raise BackupError(f"{out} already exists; choose a new name")
    try:
        with os.fdopen(descriptor, "wb") as file:
            writer = EncryptingWriter(file, recipients)
            manifest = {
                "format": BACKUP_FORMAT,
                "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "database": vendor,
                "evidence": has_evidence,
                "includes_private_keys": include_keys,
            }
            with tarfile.open(  # type: ignore[call-overload]
                fileobj=writer, mode="w|", format=tarfile.PAX_FORMAT
            ) as archive:
                _add_bytes(archive, MANIFEST, json.dumps(manifest, indent=2).encode())
                _add_bytes(archive, SECRET_KEY_MEMBER, (settings.SECRET_KEY + "\n").encode())
                _add_bytes(archive, FIELD_KEY_MEMBER, (field_key_text() + "\n").encode())
                if vendor == "sqlite":
                    _add_sqlite(archive)
                else:
                    _add_postgresql(archive)
                count = _add_evidence(archive, evidence, include_keys) if has_evidence else 0
            writer.close()
            file.flush()
            os.fsync(file.fileno())
        os.rename(partial, out)
        _fsync_directory(out.parent)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return BackupSummary(vendor, count, include_keys)


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


# --- reading ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RestoreSummary:
    database: str
    evidence_files: int
    included_keys: bool
    created: str


def _members(
    backup: Path, identities: Sequence[str]
) -> Iterator[tuple[tarfile.TarInfo, IO[bytes]]]:
    """Each regular member of the backup with a stream of its bytes, after checking its name."""
    with backup.open("rb") as file:
        try:
            reader = DecryptingReader(file, identities, name=str(backup))
        except AgeError as error:
            raise BackupError(f"{backup}: cannot decrypt: {error}") from None
        try:
            with tarfile.open(fileobj=reader, mode="r|") as archive:
                for member in archive:
                    name = PurePosixPath(member.name)
                    if name.is_absolute() or ".." in name.parts or not member.isfile():
                        raise BackupError(f"{backup}: refusing member {member.name!r}")
                    stream = archive.extractfile(member)
                    assert stream is not None
                    yield member, stream
        except AgeError as error:
            raise BackupError(f"{backup}: {error}") from None
        except tarfile.TarError as error:
            raise BackupError(f"{backup}: not a complete Amparo backup ({error})") from None


def _read_manifest(member: tarfile.TarInfo, stream: IO[bytes], backup: Path) -> dict[str, Any]:
    if member.name != MANIFEST:
        raise BackupError(f"{backup}: does not start with {MANIFEST}; not an Amparo backup")
    try:
        manifest = json.loads(stream.read())
    except ValueError as error:
        raise BackupError(f"{backup}: {MANIFEST} is unreadable ({error})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != BACKUP_FORMAT:
        raise BackupError(f"{backup}: {MANIFEST} names an unknown format")
    return manifest


def check_backup(backup: Path, identities: Sequence[str]) -> dict[str, Any]:
    """Decrypt and read the whole backup without writing anything; return its manifest."""
    manifest: dict[str, Any] | None = None
    for member, stream in _members(backup, identities):
        if manifest is None:
            manifest = _read_manifest(member, stream, backup)
        else:
            while stream.read(_COPY_SIZE):
                pass
    if manifest is None:
        raise BackupError(f"{backup}: the backup is empty")
    return manifest


def _check_fresh(evidence: Path) -> None:
    if database_vendor() == "sqlite":
        database = Path(settings.DATABASES["default"]["NAME"])
        if database.exists() and database.stat().st_size > 0:
            raise BackupError(
                f"{database} exists: restore only into a fresh data directory "
                "(AMPARO_DATA_DIR pointing at an empty directory)"
            )
    elif connection.introspection.table_names():
        raise BackupError(
            f"the database {settings.DATABASES['default']['NAME']} is not empty: "
            "restore only into a newly created, empty database"
        )
    if evidence.exists() and any(evidence.iterdir()):
        raise BackupError(f"{evidence} is not empty: restore only into a fresh evidence directory")


def _write_private(path: Path, text: str) -> None:
    partial = path.with_name(f".{path.name}.restoring")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
        stream.write(text)
        stream.flush()
        os.fsync(stream.fileno())
    os.replace(partial, path)


def _copy_to(stream: IO[bytes], target: BinaryIO) -> None:
    while piece := stream.read(_COPY_SIZE):
        target.write(piece)


def _restore_file(stream: IO[bytes], path: Path, mode: int) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as target:
        _copy_to(stream, target)
        target.flush()
        os.fsync(target.fileno())
    os.chmod(path, mode & 0o700)


def restore_backup(
    backup: Path, identities: Sequence[str], *, keys_from: Path | None = None
) -> RestoreSummary:
    """Restore ``backup`` into this instance's (fresh) database and evidence directory.

    The whole backup is decrypted and checked first, so a damaged or truncated file changes
    nothing. Private store keys missing from the backup are copied from ``keys_from``.
    """
    evidence = Path(settings.EVIDENCE_DIR)
    _check_fresh(evidence)
    manifest = check_backup(backup, identities)
    vendor = database_vendor()
    if manifest.get("database") != vendor:
        raise BackupError(
            f"{backup} holds a {manifest.get('database')} database but this instance is "
            f"configured for {vendor}; set DATABASE_URL to match"
        )
    missing_keys = bool(manifest.get("evidence")) and not manifest.get("includes_private_keys")
    private_keys = _read_private_keys(keys_from) if missing_keys else {}
    staging = Path(tempfile.mkdtemp(prefix=f".{evidence.name}.restoring-", dir=evidence.parent))
    sqlite_partial: Path | None = None
    restore_process: subprocess.Popen[bytes] | None = None
    count = 0
    try:
        for member, stream in _members(backup, identities):
            name = member.name
            if name == SECRET_KEY_MEMBER:
                _write_private(Path(settings.DATA_DIR) / "secret_key", stream.read().decode())
            elif name == FIELD_KEY_MEMBER:
                _write_private(Path(settings.DATA_DIR) / KEY_FILE_NAME, stream.read().decode())
            elif name == SQLITE_MEMBER:
                database = Path(settings.DATABASES["default"]["NAME"])
                sqlite_partial = database.with_name(f".{database.name}.restoring")
                sqlite_partial.unlink(missing_ok=True)
                _restore_file(stream, sqlite_partial, 0o600)
            elif name.startswith(POSTGRESQL_PREFIX):
                if restore_process is None:
                    restore_process = subprocess.Popen(
                        [
                            _postgresql_tool("pg_restore"),
                            "--no-owner",
                            "--no-privileges",
                            "--single-transaction",
                            "--exit-on-error",
                            f"--dbname={settings.DATABASES['default']['NAME']}",
                        ],
                        stdin=subprocess.PIPE,
                        stderr=subprocess.PIPE,
                        env=_postgresql_environment(),
                    )
                assert restore_process.stdin is not None
                _copy_to(stream, restore_process.stdin)  # type: ignore[arg-type]
            elif name.startswith(EVIDENCE_PREFIX):
                _restore_file(stream, staging / name.removeprefix(EVIDENCE_PREFIX), member.mode)
                count += 1
        if restore_process is not None:
            _, errors = restore_process.communicate()
            if restore_process.returncode != 0:
                raise BackupError(
                    f"pg_restore failed (exit status {restore_process.returncode}): "
                    f"{errors.decode(errors='replace').strip()}"
                )
        for relative, text in private_keys.items():
            _write_private(staging / relative, text)
        if sqlite_partial is not None:
            os.rename(sqlite_partial, Path(settings.DATABASES["default"]["NAME"]))
        if manifest.get("evidence"):
            (staging / "keys").chmod(0o700)
            if evidence.exists():
                evidence.rmdir()
            os.rename(staging, evidence)
            _fsync_directory(evidence.parent)
    except BaseException:
        if restore_process is not None and restore_process.poll() is None:
            restore_process.kill()
            restore_process.wait()
        if sqlite_partial is not None:
            sqlite_partial.unlink(missing_ok=True)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return RestoreSummary(
        vendor, count, bool(manifest.get("includes_private_keys")), str(manifest.get("created"))
    )


def _read_private_keys(keys_from: Path | None) -> dict[str, str]:
    """The store's private key files from where the operator kept them apart from backups."""
    if keys_from is None:
        raise BackupError(
            "this backup was made without the evidence store's private keys; give --keys DIR "
            "with the log.skey and age-identity.txt kept apart from the backup"
        )
    keys = {}
    for relative in PRIVATE_KEY_FILES:
        name = PurePosixPath(relative).name
        try:
            keys[relative] = (keys_from / name).read_text("utf-8")
        except OSError as error:
            raise BackupError(f"{keys_from / name}: cannot read ({error.strerror})") from None
    return keys
