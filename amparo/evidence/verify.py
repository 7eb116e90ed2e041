"""Offline verification of an Amparo evidence bundle (a BagIt bag directory or its .zip).

verify_bundle() runs every check in order and raises VerificationFailure naming the first
file and check that failed; on success it returns a VerificationReport. It needs only the
bundle and the keys the verifier obtained independently: no server, database or network.
"""

from __future__ import annotations

import json
import re
import stat
import tempfile
import unicodedata
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from amparo.evidence import bagit, bundle, note
from amparo.evidence.checkpoint import Checkpoint, open_checkpoint
from amparo.evidence.custody import CustodyEntryError, commitment, parse_custody_entry
from amparo.evidence.receipt import parse_receipt, verify_receipt
from amparo.evidence.witness import verify_cosigned, witness_verifiers

_CUSTODY_NAME = re.compile(r"(0|[1-9][0-9]{0,18})\.json")
_RECEIPT_NAME = re.compile(r"(0|[1-9][0-9]{0,18})" + re.escape(bundle.RECEIPT_SUFFIX))
_HEX64 = re.compile(r"[0-9a-f]{64}")
_HEX128 = re.compile(r"[0-9a-f]{128}")
_METADATA_FIELDS = ("id", "nonce", "sha256", "sha512", "size", "original", "custody_entries")
_ALLOWED_TOP_LEVEL = {
    bagit.BAGIT_TXT,
    bagit.BAG_INFO_TXT,
    bundle.SIGNATURE_FILE,
    bagit.PAYLOAD_DIR,
    *(bagit.manifest_name(algorithm) for algorithm in bagit.ALGORITHMS),
    *(bagit.tagmanifest_name(algorithm) for algorithm in bagit.ALGORITHMS),
}
# A zip bomb or a hostile archive should not fill the verifier's disk unnoticed.
_MAX_ZIP_MEMBERS = 1_000_000
_ZIP_ENCRYPTED = 0x1  # general purpose flag bit 0


class VerificationFailure(Exception):
    """A check failed; `file` is bag-relative and `check` says what did not hold."""

    def __init__(self, file: str, check: str) -> None:
        file, check = _printable(file), _printable(check)
        super().__init__(f"{file}: {check}")
        self.file = file
        self.check = check


def _printable(text: str) -> str:
    """Escape control and invisible characters, so a hostile file name cannot rewrite the line."""
    return "".join(char if char.isprintable() else ascii(char)[1:-1] for char in text)


@dataclass(frozen=True)
class VerificationReport:
    """What a successful verification established."""

    originals: int
    custody_entries: int
    checkpoint_size: int
    witnesses_cosigned: int
    witnesses_given: int

    def summary(self) -> str:
        """Return the one-line summary amparo-verify prints."""
        return (
            f"OK: {self.originals} originals, {self.custody_entries} custody entries, "
            f"checkpoint size {self.checkpoint_size} cosigned by "
            f"{self.witnesses_cosigned} of {self.witnesses_given} witnesses"
        )


def verify_bundle(
    path: Path,
    log_vkey: str,
    witness_vkeys: Sequence[str] = (),
    quorum: int | None = None,
) -> VerificationReport:
    """Verify the bag directory or .zip at `path`; raise VerificationFailure on the first fault.

    `quorum` is how many of `witness_vkeys` must have cosigned the checkpoint; by default all.
    Raises ValueError (before reading the bundle) for a witness key that is the log's own, is
    not a cosignature/v1 key, or is given twice.
    """
    if len(witness_verifiers(log_vkey.strip(), witness_vkeys)) < len(witness_vkeys):
        raise ValueError("the same witness key was given twice; give each witness once")
    required = len(witness_vkeys) if quorum is None else quorum
    if required < 0 or required > len(witness_vkeys):
        raise ValueError(f"quorum {required} needs at least that many --witness keys")
    if path.is_file():
        with _extracted_zip(path) as bag_dir:
            return _BagVerifier(bag_dir, log_vkey.strip(), witness_vkeys, required).run()
    if not path.is_dir():
        raise VerificationFailure(str(path), "no such bag directory or .zip file")
    return _BagVerifier(path, log_vkey.strip(), witness_vkeys, required).run()


@contextmanager
def _extracted_zip(zip_path: Path) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="amparo-verify-") as scratch:
        root = Path(scratch)
        try:
            archive = zipfile.ZipFile(zip_path)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as error:
            raise VerificationFailure(zip_path.name, f"not a readable .zip file: {error}") from None
        with archive:
            members = archive.infolist()
            if len(members) > _MAX_ZIP_MEMBERS:
                raise VerificationFailure(zip_path.name, "too many files in the archive")
            seen: set[str] = set()
            for member in members:
                _check_zip_member(zip_path.name, member, seen)
            try:
                archive.extractall(root)
            except (
                zipfile.BadZipFile,
                RuntimeError,
                zlib.error,
                OSError,
                EOFError,
                NotImplementedError,
            ) as error:
                raise VerificationFailure(zip_path.name, f"cannot extract: {error}") from None
        yield _bag_root(root, zip_path.name)


def _check_zip_member(zip_name: str, member: zipfile.ZipInfo, seen: set[str]) -> None:
    name = member.filename
    parts = PurePosixPath(name).parts
    mode = member.external_attr >> 16
    if name.startswith("/") or "\\" in name or ".." in parts or ":" in name:
        raise VerificationFailure(f"{zip_name}: {name}", "unsafe path in the archive")
    if member.flag_bits & _ZIP_ENCRYPTED:
        raise VerificationFailure(f"{zip_name}: {name}", "encrypted in the archive")
    if stat.S_ISLNK(mode):
        raise VerificationFailure(f"{zip_name}: {name}", "symbolic link in the archive")
    # Windows and macOS treat names differing only in case or Unicode form as one file.
    key = unicodedata.normalize("NFC", name.rstrip("/")).casefold()
    if key in seen:
        raise VerificationFailure(
            f"{zip_name}: {name}",
            "appears twice in the archive (names that differ only in letter case or accents "
            "are the same file on Windows and macOS)",
        )
    seen.add(key)


def _bag_root(root: Path, zip_name: str) -> Path:
    if (root / bagit.BAGIT_TXT).exists():
        return root
    entries = list(root.iterdir())
    if len(entries) == 1 and entries[0].is_dir():
        return entries[0]
    raise VerificationFailure(f"{zip_name}: {bagit.BAGIT_TXT}", "missing: this is not a bag")


class _BagVerifier:
    def __init__(
        self, bag_dir: Path, log_vkey: str, witness_vkeys: Sequence[str], quorum: int
    ) -> None:
        self.bag = bag_dir
        self.log_vkey = log_vkey
        self.witness_vkeys = [key.strip() for key in witness_vkeys]
        self.quorum = quorum
        self.payload_digests: dict[str, bagit.FileDigests] = {}

    def run(self) -> VerificationReport:
        self.check_structure()
        manifests = self.check_payload_listing()
        self.check_payload_digests(manifests)
        self.check_tag_manifests()
        self.check_log_key_is_trusted()
        self.check_bag_signature()
        self.check_payload_oxum()
        checkpoint = self.check_checkpoint()
        cosigned = self.check_cosignatures()
        entries = self.check_custody_entries()
        self.check_receipts(entries, checkpoint)
        originals = self.check_originals(entries)
        return VerificationReport(
            originals=originals,
            custody_entries=len(entries),
            checkpoint_size=checkpoint.size,
            witnesses_cosigned=cosigned,
            witnesses_given=len(self.witness_vkeys),
        )

    # -- reading --------------------------------------------------------------------------

    def read_text(self, relative: str) -> str:
        path = self.bag / relative
        if not path.is_file() or path.is_symlink():
            raise VerificationFailure(relative, "missing")
        try:
            return path.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            raise VerificationFailure(relative, "not valid UTF-8 text") from None

    # -- checks, in order -----------------------------------------------------------------

    def check_structure(self) -> None:
        """bagit.txt declares BagIt 1.0 in UTF-8; the required files exist; nothing else."""
        if self.read_text(bagit.BAGIT_TXT) != bagit.BAGIT_DECLARATION:
            raise VerificationFailure(
                bagit.BAGIT_TXT, "bag declaration is not 'BagIt-Version: 1.0' in UTF-8"
            )
        for name in sorted(_ALLOWED_TOP_LEVEL - {bagit.PAYLOAD_DIR}):
            self.read_text(name)
        if (self.bag / bagit.PAYLOAD_DIR).is_symlink():
            raise VerificationFailure(bagit.PAYLOAD_DIR + "/", "is a symbolic link, not a folder")
        if not (self.bag / bagit.PAYLOAD_DIR).is_dir():
            raise VerificationFailure(bagit.PAYLOAD_DIR + "/", "missing payload directory")
        for entry in sorted(self.bag.iterdir()):
            if entry.name not in _ALLOWED_TOP_LEVEL:
                raise VerificationFailure(entry.name, "unexpected file not covered by the bag")
        try:
            bagit.parse_bag_info(self.read_text(bagit.BAG_INFO_TXT))
        except bagit.BagError as error:
            raise VerificationFailure(bagit.BAG_INFO_TXT, str(error)) from None

    def parse_manifest(self, name: str, algorithm: str) -> dict[str, str]:
        try:
            return bagit.parse_manifest(self.read_text(name), name, algorithm)
        except bagit.BagError as error:
            raise VerificationFailure(name, str(error).removeprefix(f"{name}: ")) from None

    def check_payload_listing(self) -> dict[str, dict[str, str]]:
        """Every payload file is listed in both manifests and every listed file exists."""
        manifests = {
            algorithm: self.parse_manifest(bagit.manifest_name(algorithm), algorithm)
            for algorithm in bagit.ALGORITHMS
        }
        for found in sorted(self.bag.joinpath(bagit.PAYLOAD_DIR).rglob("*")):
            if found.is_symlink() or not (found.is_file() or found.is_dir()):
                relative = found.relative_to(self.bag).as_posix()
                raise VerificationFailure(relative, "not a regular file")
        present = set(bagit.payload_files(self.bag))
        for algorithm, listed in manifests.items():
            name = bagit.manifest_name(algorithm)
            for path in sorted(listed):
                if not path.startswith(bagit.PAYLOAD_DIR + "/"):
                    raise VerificationFailure(name, f"lists {path}, which is outside data/")
                if path not in present:
                    raise VerificationFailure(path, f"missing, though listed in {name}")
            for path in sorted(present - set(listed)):
                raise VerificationFailure(path, f"extra payload file not listed in {name}")
        return manifests

    def check_payload_digests(self, manifests: dict[str, dict[str, str]]) -> None:
        """Every payload file's SHA-256 and SHA-512 match the payload manifests."""
        for path in sorted(manifests["sha256"]):
            digests = bagit.hash_file(self.bag / path)
            for algorithm in bagit.ALGORITHMS:
                if digests.of(algorithm) != manifests[algorithm][path]:
                    name = bagit.manifest_name(algorithm)
                    raise VerificationFailure(path, f"{algorithm} does not match {name}")
            self.payload_digests[path] = digests

    def check_tag_manifests(self) -> None:
        """Both tag manifests list exactly the tag files, with matching digests."""
        for algorithm in bagit.ALGORITHMS:
            name = bagit.tagmanifest_name(algorithm)
            listed = self.parse_manifest(name, algorithm)
            if set(listed) != set(bundle.TAG_FILES):
                raise VerificationFailure(
                    name, f"must list exactly {', '.join(sorted(bundle.TAG_FILES))}"
                )
            for tag_file in sorted(listed):
                if bagit.hash_file(self.bag / tag_file).of(algorithm) != listed[tag_file]:
                    raise VerificationFailure(tag_file, f"{algorithm} does not match {name}")

    def check_payload_oxum(self) -> None:
        """bag-info.txt's Payload-Oxum, if given, counts the payload's bytes and files."""
        fields = dict(bagit.parse_bag_info(self.read_text(bagit.BAG_INFO_TXT)))
        if "Payload-Oxum" not in fields:
            return
        octets = sum(digests.size for digests in self.payload_digests.values())
        actual = f"{octets}.{len(self.payload_digests)}"
        if fields["Payload-Oxum"] != actual:
            raise VerificationFailure(
                bagit.BAG_INFO_TXT,
                f"Payload-Oxum {fields['Payload-Oxum']} does not match the payload: "
                f"{octets} bytes in {len(self.payload_digests)} files",
            )

    def check_log_key_is_trusted(self) -> None:
        """The bag's copy of the log key is the key the verifier supplied."""
        bag_key = self.read_text(bundle.LOG_KEY_FILE).strip()
        if bag_key != self.log_vkey:
            raise VerificationFailure(
                bundle.LOG_KEY_FILE,
                f"untrusted key: the bundle says its log key is {_key_label(bag_key)!r}, "
                f"but you gave --key {_key_label(self.log_vkey)!r}",
            )

    def check_bag_signature(self) -> None:
        """bag-signature.txt is signed by the log key and names both tag manifests' digests."""
        name = bundle.SIGNATURE_FILE
        try:
            text = note.open(self.read_text(name), [self.log_vkey])
        except note.NoteError as error:
            raise VerificationFailure(name, f"signature by the given log key: {error}") from None
        bag_name = dict(bagit.parse_bag_info(self.read_text(bagit.BAG_INFO_TXT))).get(
            "External-Identifier", ""
        )
        digests = {
            bagit.tagmanifest_name(algorithm): bagit.sha256_hex(
                (self.bag / bagit.tagmanifest_name(algorithm)).read_bytes()
            )
            for algorithm in bagit.ALGORITHMS
        }
        if text != bundle.signature_text(bag_name, digests):
            raise VerificationFailure(
                name, "signed text does not match this bag's name and tag manifests"
            )

    def check_checkpoint(self) -> Checkpoint:
        """data/checkpoint.txt is signed by the given log key and names that key's log."""
        try:
            checkpoint = open_checkpoint(self.read_text(bundle.CHECKPOINT_FILE), self.log_vkey)
        except (note.NoteError, ValueError) as error:
            raise VerificationFailure(
                bundle.CHECKPOINT_FILE, f"checkpoint signature by the given log key: {error}"
            ) from None
        # Witnesses keep one history per origin; a second origin would be an unwitnessed fork.
        log_name = note.parse_verifier_key(self.log_vkey).name
        if checkpoint.origin != log_name:
            raise VerificationFailure(
                bundle.CHECKPOINT_FILE,
                f"checkpoint is for the log {checkpoint.origin!r}, but the given log key "
                f"belongs to the log {log_name!r}",
            )
        return checkpoint

    def check_cosignatures(self) -> int:
        """At least `quorum` of the given witness keys cosigned the checkpoint."""
        signed_note = self.read_text(bundle.CHECKPOINT_FILE)
        cosigned = 0
        for witness_vkey in self.witness_vkeys:
            try:
                verify_cosigned(signed_note, self.log_vkey, [witness_vkey], 1)
            except ValueError:
                continue
            cosigned += 1
        if cosigned < self.quorum:
            raise VerificationFailure(
                bundle.CHECKPOINT_FILE,
                f"too few witnesses: {cosigned} of {self.quorum} required",
            )
        if self.witness_vkeys:
            try:
                verify_cosigned(signed_note, self.log_vkey, self.witness_vkeys, self.quorum)
            except ValueError as error:
                raise VerificationFailure(
                    bundle.CHECKPOINT_FILE, f"cosignatures: {error}"
                ) from None
        return cosigned

    def check_custody_entries(self) -> dict[int, tuple[str, dict[str, Any], bytes]]:
        """Each data/custody/<index>.json is a canonical custody entry."""
        entries: dict[int, tuple[str, dict[str, Any], bytes]] = {}
        for relative in self.files_under(bundle.CUSTODY_DIR):
            filename = relative.rsplit("/", 1)[-1]
            match = _CUSTODY_NAME.fullmatch(filename)
            if match is None:
                raise VerificationFailure(relative, "custody file name must be <log index>.json")
            raw = (self.bag / relative).read_bytes()
            try:
                parsed = parse_custody_entry(raw)
            except CustodyEntryError as error:
                raise VerificationFailure(relative, f"custody entry: {error}") from None
            entries[int(match.group(1))] = (relative, parsed, raw)
        return entries

    def check_receipts(
        self, entries: dict[int, tuple[str, dict[str, Any], bytes]], checkpoint: Checkpoint
    ) -> None:
        """Each custody entry has a receipt proving its inclusion under the bag's checkpoint."""
        receipts = {}
        for relative in self.files_under(bundle.RECEIPTS_DIR):
            match = _RECEIPT_NAME.fullmatch(relative.rsplit("/", 1)[-1])
            if match is None or int(match.group(1)) not in entries:
                raise VerificationFailure(relative, "receipt for no custody entry in this bag")
            receipts[int(match.group(1))] = relative
        for index in sorted(entries):
            if index not in receipts:
                raise VerificationFailure(
                    f"{bundle.RECEIPTS_DIR}/{index}{bundle.RECEIPT_SUFFIX}",
                    f"missing receipt for {entries[index][0]}",
                )
            relative = receipts[index]
            text = self.read_text(relative)
            try:
                receipt_index = parse_receipt(text).index
                if receipt_index != index:
                    raise ValueError(f"the receipt is for log entry {receipt_index}")
                proven = verify_receipt(text, entries[index][2], self.log_vkey)
            except ValueError as error:
                raise VerificationFailure(relative, f"inclusion proof: {error}") from None
            if proven != checkpoint:
                raise VerificationFailure(
                    relative, f"inclusion proof is not against {bundle.CHECKPOINT_FILE}"
                )

    def check_originals(self, entries: dict[int, tuple[str, dict[str, Any], bytes]]) -> int:
        """Each original matches its metadata, and its commitment matches its custody entries."""
        originals = set(self.files_under(bundle.ORIGINALS_DIR))
        described: set[str] = set()
        claimed: set[int] = set()
        for relative in self.files_under(bundle.METADATA_DIR):
            record = self.read_metadata(relative)
            original = record["original"]
            if not original.startswith(f"{bundle.ORIGINALS_DIR}/{record['id']}-"):
                raise VerificationFailure(relative, f"original path {original!r} is not its own")
            if original not in originals:
                raise VerificationFailure(relative, f"names {original}, which is not in the bag")
            if original in described:
                raise VerificationFailure(relative, f"{original} is described twice")
            described.add(original)
            digests = self.payload_digests[original]
            if digests.sha256 != record["sha256"] or digests.sha512 != record["sha512"]:
                raise VerificationFailure(original, f"digest does not match {relative}")
            if digests.size != record["size"]:
                raise VerificationFailure(original, f"size does not match {relative}")
            expected = commitment(bytes.fromhex(record["nonce"]), digests.sha256)
            for index in record["custody_entries"]:
                if index not in entries:
                    raise VerificationFailure(relative, f"custody entry {index} is not in the bag")
                entry_file, parsed, _raw = entries[index]
                if parsed["commitment"] != expected:
                    raise VerificationFailure(
                        entry_file, f"commitment does not match {original} and {relative}"
                    )
                claimed.add(index)
        for original in sorted(originals - described):
            raise VerificationFailure(original, f"no metadata in {bundle.METADATA_DIR}/")
        for index in sorted(set(entries) - claimed):
            raise VerificationFailure(entries[index][0], "custody entry names no original here")
        return len(originals)

    def read_metadata(self, relative: str) -> dict[str, Any]:
        try:
            record = json.loads(self.read_text(relative))
        except json.JSONDecodeError as error:
            raise VerificationFailure(relative, f"metadata is not JSON: {error}") from None
        if not isinstance(record, dict) or any(key not in record for key in _METADATA_FIELDS):
            raise VerificationFailure(relative, f"metadata needs {', '.join(_METADATA_FIELDS)}")
        valid = (
            isinstance(record["nonce"], str)
            and _HEX64.fullmatch(record["nonce"])
            and isinstance(record["sha256"], str)
            and _HEX64.fullmatch(record["sha256"])
            and isinstance(record["sha512"], str)
            and _HEX128.fullmatch(record["sha512"])
            and type(record["size"]) is int
            and isinstance(record["original"], str)
            and isinstance(record["custody_entries"], list)
            and all(type(index) is int for index in record["custody_entries"])
            and record["custody_entries"]
        )
        if not valid:
            raise VerificationFailure(relative, "metadata fields have the wrong form")
        if relative != f"{bundle.METADATA_DIR}/{record['id']}.json":
            raise VerificationFailure(relative, "metadata id does not match its file name")
        return record

    def files_under(self, relative_dir: str) -> list[str]:
        prefix = relative_dir + "/"
        return [path for path in self.payload_digests if path.startswith(prefix)]


def _key_label(vkey: str) -> str:
    """Name and key ID of a verifier key, without the key material, for messages."""
    return "+".join(vkey.split("+")[:2])
