"""Export bundles: a BagIt 1.0 bag of originals, custody entries, receipts and keys.

Layout of a bag named NAME::

    NAME/
      bagit.txt  bag-info.txt
      manifest-sha256.txt  manifest-sha512.txt          every file under data/
      tagmanifest-sha256.txt  tagmanifest-sha512.txt    bagit.txt, bag-info.txt, manifests
      bag-signature.txt                                 the tag manifests' digests, signed
      data/originals/<id>-<filename>                    each original, decrypted
      data/metadata/<id>.json                           digests, nonce, custody entry indexes
      data/custody/<index>.json                         exact log entry bytes
      data/receipts/<index>.tlog-proof                  inclusion proof (c2sp.org/tlog-proof)
      data/checkpoint.txt                               the cosigned checkpoint
      data/keys/log.vkey  data/keys/witnesses.vkey
      data/HOW_TO_VERIFY.txt

``bag-signature.txt`` is a signed note by the log key whose text names the bag and the
SHA-256 of both tag manifests. The tag manifests cover the payload manifests, which cover every
payload file, so no file can change, appear or disappear without breaking that signature: the
bag cannot be re-manifested by someone without the log key.
"""

from __future__ import annotations

import json
import re
import shutil
import zipfile
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

from amparo.evidence import bagit, note

SIGNATURE_FILE = "bag-signature.txt"
SIGNATURE_HEADER = "amparo bag signature v1"
HOW_TO_VERIFY = "HOW_TO_VERIFY.txt"
ORIGINALS_DIR = "data/originals"
METADATA_DIR = "data/metadata"
CUSTODY_DIR = "data/custody"
RECEIPTS_DIR = "data/receipts"
CHECKPOINT_FILE = "data/checkpoint.txt"
LOG_KEY_FILE = "data/keys/log.vkey"
WITNESS_KEYS_FILE = "data/keys/witnesses.vkey"
HOW_TO_VERIFY_FILE = f"data/{HOW_TO_VERIFY}"
RECEIPT_SUFFIX = ".tlog-proof"
TAG_FILES = (
    bagit.BAGIT_TXT,
    bagit.BAG_INFO_TXT,
    bagit.manifest_name("sha256"),
    bagit.manifest_name("sha512"),
)

_UNSAFE_FILENAME_CHARACTERS = re.compile(r"[^A-Za-z0-9._-]+")
_BAG_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


class BundleError(ValueError):
    """A bundle could not be written."""


@dataclass(frozen=True)
class BundleOriginal:
    """One original to export: its catalogue record and a way to read its plaintext."""

    item_id: str
    filename: str
    metadata: Mapping[str, Any]
    sha256: str
    open_plaintext: Callable[[], AbstractContextManager[bagit.Readable]]


@dataclass(frozen=True)
class BundleEntry:
    """One custody entry: its log index, exact bytes, and a receipt proving its inclusion."""

    index: int
    entry: bytes
    receipt: str


def safe_filename(filename: str) -> str:
    """Reduce a user-supplied file name to letters, digits, ".", "_" and "-" (never empty)."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = _UNSAFE_FILENAME_CHARACTERS.sub("_", base).strip("._")[:100]
    return cleaned or "original"


def original_path(item_id: str, filename: str) -> str:
    """Return the bag-relative path where an item's original is stored."""
    return f"{ORIGINALS_DIR}/{item_id}-{safe_filename(filename)}"


def signature_text(bag_name: str, tagmanifest_digests: Mapping[str, str]) -> str:
    """Return the text that bag-signature.txt signs."""
    lines = [SIGNATURE_HEADER, f"bag {bag_name}"]
    for algorithm in bagit.ALGORITHMS:
        name = bagit.tagmanifest_name(algorithm)
        lines.append(f"{name} sha256:{tagmanifest_digests[name]}")
    return "\n".join(lines) + "\n"


def how_to_verify_text() -> str:
    """Return the plain-language instructions shipped in every bundle."""
    return resources.files("amparo.evidence").joinpath(HOW_TO_VERIFY).read_text("utf-8")


def write_bundle(
    out_dir: Path,
    *,
    bag_name: str,
    originals: Sequence[BundleOriginal],
    entries: Sequence[BundleEntry],
    checkpoint_note: str,
    log_vkey: str,
    log_skey: str,
    witness_vkeys: Sequence[str],
    source_organization: str,
    created: datetime,
) -> Path:
    """Write a signed BagIt bag at `out_dir` (which must not exist) and return its path.

    Originals are streamed to disk in chunks while both digests are computed; a digest that
    differs from the catalogue's SHA-256 aborts the export and removes the partial bag.
    """
    if not _BAG_NAME.fullmatch(bag_name):
        raise BundleError(f"bag name {bag_name!r} must be letters, digits, '.', '_' or '-'")
    if out_dir.exists():
        raise BundleError(f"{out_dir}: already exists; choose a new output path")
    out_dir.mkdir(parents=True)
    try:
        _write_bag(
            out_dir,
            bag_name=bag_name,
            originals=originals,
            entries=entries,
            checkpoint_note=checkpoint_note,
            log_vkey=log_vkey,
            log_skey=log_skey,
            witness_vkeys=witness_vkeys,
            source_organization=source_organization,
            created=created,
        )
    except BaseException:
        shutil.rmtree(out_dir, ignore_errors=True)
        raise
    return out_dir


def _write_bag(
    out_dir: Path,
    *,
    bag_name: str,
    originals: Sequence[BundleOriginal],
    entries: Sequence[BundleEntry],
    checkpoint_note: str,
    log_vkey: str,
    log_skey: str,
    witness_vkeys: Sequence[str],
    source_organization: str,
    created: datetime,
) -> None:
    payload: dict[str, bagit.FileDigests] = {}

    def put_text(relative: str, text: str) -> None:
        bagit.write_text(out_dir / relative, text)
        payload[relative] = bagit.hash_file(out_dir / relative)

    for original in originals:
        relative = original_path(original.item_id, original.filename)
        target = out_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        with original.open_plaintext() as source, target.open("xb") as sink:
            digests = bagit.hash_stream(source, sink)
        if digests.sha256 != original.sha256:
            raise BundleError(f"{relative}: decrypted original does not match its recorded SHA-256")
        payload[relative] = digests
        record = {**original.metadata, "original": relative}
        put_text(
            f"{METADATA_DIR}/{original.item_id}.json",
            json.dumps(record, indent=2, sort_keys=True, ensure_ascii=False) + "\n",
        )
    for item in entries:
        (out_dir / CUSTODY_DIR).mkdir(parents=True, exist_ok=True)
        relative = f"{CUSTODY_DIR}/{item.index}.json"
        (out_dir / relative).write_bytes(item.entry)
        payload[relative] = bagit.hash_file(out_dir / relative)
        put_text(f"{RECEIPTS_DIR}/{item.index}{RECEIPT_SUFFIX}", item.receipt)
    put_text(CHECKPOINT_FILE, checkpoint_note)
    put_text(LOG_KEY_FILE, log_vkey.strip() + "\n")
    put_text(WITNESS_KEYS_FILE, "".join(key.strip() + "\n" for key in witness_vkeys))
    put_text(HOW_TO_VERIFY_FILE, how_to_verify_text())

    bagit.write_text(out_dir / bagit.BAGIT_TXT, bagit.BAGIT_DECLARATION)
    octets = sum(value.size for value in payload.values())
    info = [
        ("Source-Organization", source_organization),
        ("External-Identifier", bag_name),
        ("External-Description", "Amparo evidence bundle; see data/HOW_TO_VERIFY.txt"),
        ("Bagging-Date", created.strftime("%Y-%m-%d")),
        ("Bag-Software-Agent", "amparo (amparo-evidence)"),
        ("Payload-Oxum", f"{octets}.{len(payload)}"),
    ]
    bagit.write_text(out_dir / bagit.BAG_INFO_TXT, bagit.format_bag_info(info))
    bagit.write_manifests(out_dir, payload)
    tagmanifest_digests = bagit.write_tag_manifests(out_dir, TAG_FILES)
    signed = note.sign(signature_text(bag_name, tagmanifest_digests), log_skey)
    bagit.write_text(out_dir / SIGNATURE_FILE, signed)


def zip_bundle(bag_dir: Path, zip_path: Path) -> Path:
    """Write the bag as one .zip whose single top-level folder is the bag's directory name."""
    if zip_path.exists():
        raise BundleError(f"{zip_path}: already exists; choose a new output path")
    partial = zip_path.with_name(zip_path.name + ".partial")
    with zipfile.ZipFile(partial, "w", allowZip64=True) as archive:
        for path in sorted(bag_dir.rglob("*")):
            if not path.is_file():
                continue
            name = f"{bag_dir.name}/{path.relative_to(bag_dir).as_posix()}"
            # Media rarely compresses; storing it keeps export fast.
            is_original = path.relative_to(bag_dir).as_posix().startswith(ORIGINALS_DIR + "/")
            method = zipfile.ZIP_STORED if is_original else zipfile.ZIP_DEFLATED
            archive.write(path, name, compress_type=method)
    partial.rename(zip_path)
    return zip_path
